package normalize

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits bounding the decoding work done for one text.
const (
	MaxDepth        = 3        // recursive decoding depth
	MaxDecoded      = 16       // decoded views kept per text
	MaxDecodedBytes = 64 << 10 // total bytes of decoded views per text
	maxCandidates   = 64       // candidate runs examined per decoding level
)

// Signal names reported in View.Signals.
const (
	SigInvisible   = "invisible_chars"
	SigBidi        = "bidi_controls"
	SigTags        = "unicode_tags"
	SigVariation   = "variation_selectors"
	SigConfusables = "confusables"
	SigLeet        = "leetspeak"
	SigSpacedOut   = "spaced_out"
	SigInvalidUTF8 = "invalid_utf8"
	SigBase64      = "base64_payload"
	SigBase32      = "base32_payload"
	SigHex         = "hex_payload"
	SigURL         = "url_encoded"
	SigHTML        = "html_entities"
	SigQP          = "quoted_printable"
	SigRot13       = "rot13"
	SigReversed    = "reversed_text"
)

// View is every normalised form of one text; computed once and shared by all
// detectors.
type View struct {
	Original  string
	Folded    string   // NFKC + invisible/format chars removed + confusable skeleton + case-folded + whitespace collapsed (a run containing a line break becomes "\n", any other run one space) + leetspeak mapped
	Despaced  string   // Folded with all whitespace/punctuation separators removed
	Decoded   []string // bounded recursive decodings, depth<=3, size-capped, each itself folded
	Invisible int      // count of removed invisible/format/bidi/tag/variation-selector chars (a signal)
	Signals   []string // e.g. "invisible_chars", "bidi_controls", "unicode_tags", "confusables", "base64_payload"

	// work counts the loop steps Normalize took (input bytes per pass,
	// token-join steps, decoded bytes): a deterministic measure that tests
	// use to check the cost stays linear in the input.
	work int
}

// HasSignal reports whether sig is among v.Signals.
func (v *View) HasSignal(sig string) bool {
	for _, s := range v.Signals {
		if s == sig {
			return true
		}
	}
	return false
}

type sigSet struct{ list []string }

func (s *sigSet) add(sig string) {
	for _, x := range s.list {
		if x == sig {
			return
		}
	}
	s.list = append(s.list, sig)
}

// Normalize computes every normalised form of s. It never panics and runs in
// time linear in len(s).
func Normalize(s string) *View { return view(s, true) }

// Inspect is Normalize without the folded and despaced forms of s itself
// (Folded and Despaced are left empty): it reports the same Invisible count
// and decodings (each folded), and the same Signals except those folding
// raises (confusables, leetspeak, spaced_out). For callers that only locate
// hidden characters or encoded payloads in a text already folded elsewhere.
func Inspect(s string) *View { return view(s, false) }

// view is Normalize, with the folding of s itself only when fold is set.
func view(s string, fold bool) *View {
	v := &View{Original: s}
	var sigs sigSet
	src := s
	if !utf8.ValidString(src) {
		// invalid bytes are dropped like invisible characters, so they
		// cannot split a keyword ("ign\xffore"); their presence is a signal
		src = strings.ToValidUTF8(src, "")
		sigs.add(SigInvalidUTF8)
	}
	clean, tags, n := stripInvisible(src, &sigs)
	v.Invisible = n
	var steps int
	if fold {
		v.Folded, v.Despaced, steps = foldBoth(clean, &sigs)
	}
	d := decoder{sigs: &sigs}
	if len(tags) >= 4 {
		d.accept(tags, 0)
	}
	d.run(clean, 0)
	d.release()
	v.Decoded = d.out
	v.Signals = sigs.list
	v.work = len(src) + d.work
	if fold {
		v.work += steps + len(v.Folded)
	}
	return v
}

// Fold returns only the folded form of s (no decoding), for callers that
// need the same folding on a fragment.
func Fold(s string) string {
	var sigs sigSet
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	clean, _, _ := stripInvisible(s, &sigs)
	f, _ := fold(clean, &sigs)
	return f
}

// invisibleKind classifies r: 0 = visible, 1 = generic invisible/format,
// 2 = bidi control, 3 = tag character, 4 = variation selector.
func invisibleKind(r rune) int {
	switch {
	case r < 0x80:
		return 0
	case r >= 0xE0000 && r <= 0xE007F:
		return 3
	case (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xE0100 && r <= 0xE01EF):
		return 4
	case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C:
		return 2
	case r == 0x00AD || r == 0x034F || r == 0x180E || r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0 ||
		(r >= 0x200B && r <= 0x200D) || (r >= 0x2060 && r <= 0x2064) || r == 0xFEFF:
		return 1
	case unicode.Is(unicode.Cf, r):
		return 1
	}
	return 0
}

// stripInvisible removes invisible characters, returning the cleaned text,
// any ASCII smuggled as Unicode tag characters, and the removed count.
func stripInvisible(s string, sigs *sigSet) (string, string, int) {
	if isASCII(s) {
		return s, "", 0
	}
	found := false
	for i := 0; i < len(s); {
		if s[i] < 0x80 {
			i++
			continue
		}
		r, sz := utf8.DecodeRuneInString(s[i:])
		if invisibleKind(r) != 0 {
			found = true
			break
		}
		i += sz
	}
	if !found {
		return s, "", 0
	}
	var b strings.Builder
	var tags []byte
	n := 0
	b.Grow(len(s))
	for _, r := range s {
		k := invisibleKind(r)
		if k == 0 {
			b.WriteRune(r)
			continue
		}
		n++
		switch k {
		case 1:
			sigs.add(SigInvisible)
		case 2:
			sigs.add(SigBidi)
		case 3:
			sigs.add(SigTags)
			if r >= 0xE0020 && r <= 0xE007E && len(tags) < MaxDecodedBytes {
				tags = append(tags, byte(r-0xE0000))
			}
		case 4:
			sigs.add(SigVariation)
		}
	}
	if n > 0 {
		sigs.add(SigInvisible)
	}
	return b.String(), string(tags), n
}

// isASCII reports whether s has no byte ≥ 0x80, eight bytes at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		if (uint64(w[0])|uint64(w[1])<<8|uint64(w[2])<<16|uint64(w[3])<<24|
			uint64(w[4])<<32|uint64(w[5])<<40|uint64(w[6])<<48|uint64(w[7])<<56)&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isSpace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	}
	return unicode.IsSpace(r)
}

// leet maps leetspeak characters to letters; applied only inside tokens that
// also contain ASCII letters.
func leet(c byte) byte {
	switch c {
	case '0':
		return 'o'
	case '1', '!', '|':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7', '+':
		return 't'
	case '8':
		return 'b'
	}
	return 0
}

const (
	clSpace = 1 << iota
	clUpper
	clLetter
	clLeet
	clHigh // a byte ≥ 0x80: ends foldWith's ASCII run like whitespace
)

// lowerASCII lower-cases ASCII letters.
var lowerASCII = func() (t [128]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] = byte(c + 'a' - 'A')
		}
	}
	return t
}()

// foldWith reads the letter and leet bits by position (bits 2 and 3).
var (
	_ = [1]struct{}{}[clLetter-4]
	_ = [1]struct{}{}[clLeet-8]
)

var asciiClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= 0x80:
			t[c] = clHigh
		case b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v':
			t[c] = clSpace
		case b >= 'A' && b <= 'Z':
			t[c] = clUpper | clLetter
		case b >= 'a' && b <= 'z':
			t[c] = clLetter
		case leet(b) != 0:
			t[c] = clLeet
		}
	}
	return t
}()

// foldTok is one whitespace-separated token of the folded text: its bytes
// in the scratch buffer and the flags the spaced-out join needs.
type foldTok struct {
	start, end int32
	flags      uint8
}

const (
	tokWideGap = 1 << iota // preceded by two or more whitespace characters
	tokNewline             // the preceding whitespace contained a line break
	tokSingle              // exactly one character (letter, digit, punctuation or symbol)
	tokLetter              // exactly one letter
	tokSymbol              // exactly one character that is no letter, digit or sentence punctuation
)

// foldScratch is fold's working memory, pooled so that a fold costs one
// allocation (its result) in the steady state.
type foldScratch struct {
	buf  []byte
	toks []foldTok
	pure [][2]int32
	out  []byte
}

var foldPool = sync.Pool{New: func() any { return new(foldScratch) }}

// maxPooledScratch: larger scratch buffers are dropped, not kept alive.
const maxPooledScratch = 1 << 20

func putFoldScratch(sc *foldScratch) {
	if cap(sc.buf) > maxPooledScratch || cap(sc.out) > 2*maxPooledScratch || cap(sc.toks) > maxPooledScratch/8 {
		return
	}
	sc.buf, sc.toks, sc.pure, sc.out = sc.buf[:0], sc.toks[:0], sc.pure[:0], sc.out[:0]
	foldPool.Put(sc)
}

// fold produces the folded form of an invisible-free, valid UTF-8 string,
// and the number of loop steps it took (for the linear-work test).
func fold(s string, sigs *sigSet) (string, int) {
	f, _, steps := foldWith(s, sigs, false)
	return f, steps
}

// foldBoth is fold plus the despaced form, both cut from one allocation.
func foldBoth(s string, sigs *sigSet) (folded, despaced string, steps int) {
	return foldWith(s, sigs, true)
}

func foldWith(s string, sigs *sigSet, withDespaced bool) (string, string, int) {
	if !isASCII(s) {
		s = norm.NFKD.String(s)
	}
	sc := foldPool.Get().(*foldScratch)
	defer putFoldScratch(sc)
	buf := slices.Grow(sc.buf[:0], len(s))
	// Sized from the input, not grown by append: a multi-MiB text grown
	// 1.25× at a time allocated twenty times its size (issue 11 #23).
	toks := slices.Grow(sc.toks[:0], len(s)/5) // prose: a token per 5-6 bytes
	gap := 2
	nl := false
	// tokens made only of leet characters ("15", "4") are mapped only when
	// the text has several mixed leet words, so plain numbers stay numbers.
	pureLeet := sc.pure[:0]
	leetWords := 0
	seps := 0          // separators written into buf
	singleLetters := 0 // letter tokens in the current run of single-character tokens
	join := false      // a run has ≥ 4 of them: the folded form needs the join
	i := 0
	for i < len(s) {
		// skip whitespace
		c := s[i]
		if c < 0x80 {
			if asciiClass[c]&clSpace != 0 {
				gap++
				nl = nl || c == '\n'
				i++
				continue
			}
		} else {
			r, sz := utf8.DecodeRuneInString(s[i:])
			if isSpace(r) {
				gap++
				nl = nl || r == 0x2028 || r == 0x2029 || r == 0x85
				i += sz
				continue
			}
		}
		// The separator is written before the token, as the join below
		// would (none while nothing is written), so that without a
		// spaced-out run buf is already the folded form.
		if len(buf) > 0 {
			if nl {
				buf = append(buf, '\n')
			} else {
				buf = append(buf, ' ')
			}
			seps++
		}
		start := len(buf)
		letters, leets, runes := 0, 0, 0
		hasLatin, hasConf := false, false
		for i < len(s) {
			// ASCII run of the token: lower-cased by table, letters and
			// leet characters counted from the class bits. One class
			// load per byte also ends the run (whitespace or a byte
			// ≥ 0x80); the bytes are written by index into room made
			// once per run, not appended one by one.
			if room := len(s) - i; cap(buf)-len(buf) < room {
				buf = slices.Grow(buf, room)
			}
			n := len(buf)
			w := buf[n:cap(buf)]
			k, asciiLetters := 0, 0
			for i < len(s) {
				c := s[i]
				cl := asciiClass[c]
				if cl&(clSpace|clHigh) != 0 {
					break
				}
				w[k] = lowerASCII[c&0x7f]
				k++
				asciiLetters += int(cl>>2) & 1 // clLetter
				leets += int(cl>>3) & 1        // clLeet
				i++
			}
			buf = buf[:n+k]
			runes += k
			if asciiLetters > 0 {
				letters += asciiLetters
				hasLatin = true
			}
			if i >= len(s) {
				break
			}
			c := s[i]
			if c < 0x80 {
				break // whitespace
			}
			r, sz := utf8.DecodeRuneInString(s[i:])
			if isSpace(r) {
				break
			}
			i += sz
			if unicode.Is(unicode.Mn, r) {
				continue
			}
			if m, ok := confusables[r]; ok {
				hasConf = true
				letters++
				buf = append(buf, byte(m))
				runes++
				continue
			}
			r = unicode.ToLower(r)
			if unicode.IsLetter(r) {
				letters++
			}
			buf = utf8.AppendRune(buf, r)
			runes++
		}
		if hasConf && hasLatin {
			// a word mixing Latin and lookalike letters is a homoglyph attack
			// signal; all-Cyrillic or all-Greek words are ordinary text.
			sigs.add(SigConfusables)
		}
		if leets > 0 && letters >= 1 && runes >= 2 && !bytes.Contains(buf[start:], schemeSep) {
			mapped := false
			for j := start; j < len(buf); j++ {
				if m := leet(buf[j]); m != 0 {
					// keep trailing sentence punctuation
					if (buf[j] == '!' || buf[j] == '|') && (j == len(buf)-1 || j == start) {
						continue
					}
					buf[j] = m
					mapped = true
				}
			}
			if mapped {
				sigs.add(SigLeet)
				leetWords++
			}
		}
		if letters == 0 && leets > 0 && leets == runes && runes <= 4 {
			pureLeet = append(pureLeet, [2]int32{int32(start), int32(len(buf))})
		}
		var fl uint8
		if gap >= 2 {
			fl |= tokWideGap
		}
		if nl {
			fl |= tokNewline
		}
		// Any one-character token can sit in a spaced-out run: spacing out
		// "call http_request(to=...)" spaces its symbols too, and a run
		// broken at each symbol left its short words unjoined.
		if runes == 1 {
			fl |= tokSingle
			if letters == 0 && !(buf[start] >= '0' && buf[start] <= '9') && strings.IndexByte(".,!?:;'\"-", buf[start]) < 0 {
				fl |= tokSymbol
			}
			if letters == 1 {
				fl |= tokLetter
				if singleLetters++; singleLetters >= 4 {
					join = true
				}
			}
		} else {
			singleLetters = 0
		}
		toks = append(toks, foldTok{start: int32(start), end: int32(len(buf)), flags: fl})
		gap, nl = 0, false
	}
	sc.buf, sc.toks, sc.pure = buf, toks, pureLeet
	if leetWords >= 2 {
		for _, t := range pureLeet {
			for j := t[0]; j < t[1]; j++ {
				buf[j] = leet(buf[j])
			}
		}
	}
	if !join {
		// The common case: buf, tokens and separators, is the folded
		// form; the despaced one (its letters and digits) follows it in
		// the same buffer.
		n := len(buf)
		steps := len(s) + n - seps
		if withDespaced {
			buf = appendDespaced(buf, buf[:n])
			steps += n - seps
		}
		sc.buf = buf
		all := string(buf) // the one allocation: both forms share it
		return all[:n], all[n:], steps
	}
	// Join runs of single-character tokens with ≥4 letters ("i g n o r e")
	// and at most one symbol per two letters (so "a + b * c - d" in code
	// stays as written); a wide gap inside such a run is a word boundary.
	out := slices.Grow(sc.out[:0], 2*len(buf)+len(toks)) // folded (tokens and separators) and despaced
	spaced := false
	steps := len(s) + len(buf) - seps
	for k := 0; k < len(toks); {
		if toks[k].flags&tokSingle != 0 {
			e := k
			for e < len(toks) && toks[e].flags&tokSingle != 0 {
				e++
			}
			steps += 2 * (e - k)
			nl, ns := 0, 0
			for j := k; j < e; j++ {
				if toks[j].flags&tokLetter != 0 {
					nl++
				}
				if toks[j].flags&tokSymbol != 0 {
					ns++
				}
			}
			if nl >= 4 && 2*ns <= nl {
				spaced = true
				out = appendSep(out, toks[k].flags&tokNewline != 0)
				for j := k; j < e; j++ {
					if j > k && toks[j].flags&tokNewline != 0 {
						out = append(out, '\n')
					} else if j > k && toks[j].flags&tokWideGap != 0 {
						out = append(out, ' ')
					}
					out = append(out, buf[toks[j].start:toks[j].end]...)
				}
				k = e
				continue
			}
			// Too few letters: no suffix of this run has more, so emit
			// it whole (rescanning from k+1 made long runs such as
			// "1 2 3 ..." quadratic).
			for ; k < e; k++ {
				out = appendSep(out, toks[k].flags&tokNewline != 0)
				out = append(out, buf[toks[k].start:toks[k].end]...)
			}
			continue
		}
		out = appendSep(out, toks[k].flags&tokNewline != 0)
		out = append(out, buf[toks[k].start:toks[k].end]...)
		k++
	}
	if spaced {
		sigs.add(SigSpacedOut)
	}
	n := len(out)
	if withDespaced {
		// The despaced form keeps the letters and digits of the folded
		// one, which are those of the tokens in order: despace the token
		// buffer.
		out = appendDespaced(out, buf) // buf's separators are not kept
		steps += len(buf) - seps
	}
	sc.out = out
	all := string(out) // the one allocation: both forms share it
	return all[:n], all[n:], steps
}

var schemeSep = []byte("://")

// appendSep appends the collapsed separator before a token: a newline when
// the whitespace run contained a line break, else one space.
func appendSep(out []byte, newline bool) []byte {
	if len(out) == 0 {
		return out
	}
	if newline {
		return append(out, '\n')
	}
	return append(out, ' ')
}

// appendDespaced appends the letters and digits of f (folded text) to out.
func appendDespaced(out []byte, f []byte) []byte {
	// The despaced form is at most len(f) bytes: grow once, then write
	// ASCII bytes unconditionally and advance only past the kept ones (no
	// branch or append per byte; folded prose is almost all ASCII).
	out = slices.Grow(out, len(f))
	for i := 0; i < len(f); {
		if f[i] < 0x80 {
			n := len(out)
			w := out[n : n+len(f)-i]
			k := 0
			for i < len(f) && f[i] < 0x80 {
				c := f[i]
				w[k] = c
				k += int(alnumLower[c])
				i++
			}
			out = out[:n+k]
			continue
		}
		r, sz := utf8.DecodeRune(f[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, f[i:i+sz]...)
		}
		i += sz
	}
	return out
}

// alnumLower marks the ASCII bytes despace keeps (folded text has no upper case).
// (1 = kept, so it can be added to an index).
var alnumLower = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			t[c] = 1
		}
	}
	return t
}()
