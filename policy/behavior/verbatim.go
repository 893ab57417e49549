package behavior

import (
	"github.com/tidwall/gjson"
)

// Limits on the verbatim-value scan of one call's arguments.
const (
	maxCandidates = 256
	maxScanBytes  = 64 << 10
)

// candidateHashes returns the salted hashes of the strings in args that
// could be a sensitive value: every string (and number) leaf, its tokens
// (split on whitespace and punctuation that values rarely contain), and runs
// of up to four whitespace-separated words (for spaced card numbers). Only
// candidates whose normalized length is in lens are hashed.
func (e *Engine) candidateHashes(args []byte, lens uint64) []string {
	if !gjson.ValidBytes(args) {
		return nil
	}
	s := scanner{e: e, lens: lens}
	s.walk(gjson.ParseBytes(args), 0)
	return s.out
}

type scanner struct {
	e       *Engine
	lens    uint64
	out     []string
	scanned int
	buf     [maxValueLen]byte
}

func (s *scanner) walk(v gjson.Result, depth int) {
	if depth > 32 || len(s.out) >= maxCandidates || s.scanned >= maxScanBytes {
		return
	}
	switch {
	case v.IsObject() || v.IsArray():
		v.ForEach(func(_, x gjson.Result) bool {
			s.walk(x, depth+1)
			return len(s.out) < maxCandidates && s.scanned < maxScanBytes
		})
	case v.Type == gjson.String:
		s.leaf(v.Str)
	case v.Type == gjson.Number:
		s.leaf(v.Raw)
	}
}

func (s *scanner) try(v string) {
	if len(s.out) >= maxCandidates {
		return
	}
	n := normalize(s.buf[:0], []byte(v))
	if len(n) < minValueLen || s.lens&lenBit(len(n)) == 0 {
		return
	}
	s.out = append(s.out, s.e.hash(n))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isSep(c byte) bool {
	switch c {
	case ',', ';', '"', '\'', '<', '>', '(', ')', '[', ']', '{', '}', '|', '=', '&', '?', ':', '`':
		return true
	}
	return isSpace(c)
}

func (s *scanner) leaf(v string) {
	if len(v) > maxScanBytes-s.scanned {
		v = v[:maxScanBytes-s.scanned]
	}
	s.scanned += len(v)
	if len(v) <= maxValueLen {
		s.try(v)
	}
	// Tokens split on separators, and runs of 2-4 tokens separated only by
	// whitespace (spaced card numbers, IBANs).
	var ring [4]int // starts of recent whitespace-joined tokens
	nw := 0
	start := -1
	gapSpaceOnly := true
	for i := 0; i <= len(v); i++ {
		if i < len(v) && !isSep(v[i]) {
			if start < 0 {
				start = i
				if !gapSpaceOnly {
					nw = 0
				}
				gapSpaceOnly = true
			}
			continue
		}
		if start >= 0 {
			if start > 0 || i < len(v) {
				s.try(v[start:i])
			}
			ring[nw%4] = start
			nw++
			for k := 2; k <= 4 && k <= nw; k++ {
				first := ring[(nw-k)%4]
				if i-first <= maxValueLen && (first > 0 || i < len(v)) {
					s.try(v[first:i])
				}
			}
			start = -1
		}
		if i < len(v) && !isSpace(v[i]) {
			gapSpaceOnly = false
		}
	}
}
