package normalize

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"html"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// decoder accumulates bounded recursive decodings of one text.
type decoder struct {
	sigs    *sigSet
	out     []string
	bytes   int
	scratch *[]byte // escape decodings are built here (pooled) and copied only when accepted
	work    int     // loop steps: bytes of every pass (see View.work)
}

func (d *decoder) full() bool { return len(d.out) >= MaxDecoded || d.bytes >= MaxDecodedBytes }

// accept records raw (a decoding at depth) if it looks like text, and decodes
// it further.
func (d *decoder) accept(raw string, depth int) bool {
	raw = strings.TrimSpace(raw)
	if len(raw) < 4 || d.full() || !Printable(raw) {
		return false
	}
	d.keep(raw, depth)
	return true
}

// acceptBytes is accept for a decoding held in scratch memory: the checks
// run on the bytes, and only an accepted decoding is copied.
func (d *decoder) acceptBytes(raw []byte, depth int) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 4 || d.full() || !printableBytes(raw) {
		return false
	}
	d.keep(string(raw), depth)
	return true
}

// keep stores an accepted, trimmed, printable decoding and decodes it further.
func (d *decoder) keep(raw string, depth int) {
	if len(raw) > MaxDecodedBytes-d.bytes {
		raw = strings.ToValidUTF8(raw[:MaxDecodedBytes-d.bytes], "")
	}
	var sigs sigSet
	clean, _, _ := stripInvisible(raw, &sigs)
	f, steps := fold(clean, &sigs)
	d.work += len(raw) + steps
	d.out = append(d.out, f)
	d.bytes += len(f)
	if depth+1 < MaxDepth {
		d.run(clean, depth+1)
	}
}

// unescape decodes the "<marker>XX" escapes of s into d.scratch when s has
// at least three (DecodeURL / DecodeQP without the copy).
func (d *decoder) unescape(s string, marker byte) ([]byte, bool) {
	if !hasEscapes(s, marker, 3) {
		return nil, false
	}
	if d.scratch == nil {
		d.scratch = scratchPool.Get().(*[]byte)
	}
	*d.scratch = appendUnescaped(slices.Grow((*d.scratch)[:0], len(s)), s, marker)
	return *d.scratch, true
}

var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// release returns the scratch memory to its pool.
func (d *decoder) release() {
	if d.scratch != nil && cap(*d.scratch) <= maxPooledScratch {
		scratchPool.Put(d.scratch)
	}
	d.scratch = nil
}

// run tries every decoder on s.
func (d *decoder) run(s string, depth int) {
	if depth >= MaxDepth || d.full() {
		return
	}
	d.work += 6 * len(s) // base64 runs, URL, HTML, QP and line-hint passes, rot13/reversed
	for i, n := 0, 0; i < len(s) && n < maxCandidates; n++ {
		r, next, ok := nextBase64Run(s, i)
		if !ok {
			break
		}
		i = next
		if dec, ok := DecodeBase64(r); ok && d.accept(dec, depth) {
			d.sigs.add(SigBase64)
		} else if dec, ok := DecodeBase32(r); ok && d.accept(dec, depth) {
			d.sigs.add(SigBase32)
		} else if dec, ok := DecodeHex(r); ok && d.accept(dec, depth) {
			d.sigs.add(SigHex)
		}
		if d.full() {
			return
		}
	}
	if dec, ok := d.unescape(s, '%'); ok && d.acceptBytes(dec, depth) {
		d.sigs.add(SigURL)
	}
	if dec, ok := DecodeHTML(s); ok && d.accept(dec, depth) {
		d.sigs.add(SigHTML)
	}
	if dec, ok := d.unescape(s, '='); ok && d.acceptBytes(dec, depth) {
		d.sigs.add(SigQP)
	}
	// The letter model judges only the text as given: below, a decoding
	// is often gibberish that an earlier rot13 or reversal made, which the
	// model would read as rot13 or reversed and turn back into its source.
	letters := depth == 0
	var rotHint, revHint bool
	if letters {
		rotHint, revHint = decodeHints(s)
		d.work += 2 * len(s) // the letter model's pass and the punctuation cue
	} else {
		rotHint, revHint = lineHints(s)
	}
	if rotHint {
		if dec, ok := decodeRot13(s, letters); ok && d.accept(dec, depth) {
			d.sigs.add(SigRot13)
		}
	}
	if revHint {
		if dec, ok := decodeReversed(s, letters); ok && d.accept(dec, depth) {
			d.sigs.add(SigReversed)
		}
	}
}

// Printable reports whether s is valid UTF-8 made mostly (≥ 90%) of
// printable characters, i.e. plausibly text rather than binary.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	bad, n := 0, 0
	for _, r := range s {
		n++
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\r' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			bad++
		}
	}
	return n > 0 && bad*10 <= n
}

// printableBytes is Printable for a byte slice.
func printableBytes(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	bad, n := 0, 0
	for i := 0; i < len(b); {
		c := b[i]
		n++
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f {
				bad++
			}
			i++
			continue
		}
		r, sz := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError || (r >= 0x80 && r < 0xa0) {
			bad++
		}
		i += sz
	}
	return n > 0 && bad*10 <= n
}

var b64Class = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '+' || b == '/' || b == '-' || b == '_' || b == '='
	}
	return t
}()

func isB64(c byte) bool { return b64Class[c] }

// Base64Runs returns up to maxCandidates runs of ≥ 16 base64/base32/hex
// alphabet characters (the candidates for binary-to-text decoding).
func Base64Runs(s string) []string {
	var runs []string
	for i := 0; i < len(s) && len(runs) < maxCandidates; {
		r, next, ok := nextBase64Run(s, i)
		if !ok {
			break
		}
		runs = append(runs, r)
		i = next
	}
	return runs
}

// nextBase64Run returns the first run of ≥ 16 base64 alphabet characters at
// or after i, and where the scan continues.
func nextBase64Run(s string, i int) (string, int, bool) {
	for i < len(s) {
		if !b64Class[s[i]] {
			i++
			continue
		}
		// Skip ahead (as exfil.Scan does): a run of ≥ 16 starting in
		// [i, p] covers p. When s[p] is outside the alphabet no such run
		// exists and the scan resumes after p; else only the run holding
		// p can be long enough, and the scan moves to its start. Prose
		// costs a few probes per 16 bytes instead of one per byte.
		p := i + 15
		if p >= len(s) {
			return "", len(s), false // the rest is too short to hold a run
		}
		if !b64Class[s[p]] {
			i = p + 1
			continue
		}
		q := p
		for q > i && b64Class[s[q-1]] {
			q--
		}
		if q > i {
			i = q
			continue
		}
		j := p + 1
		for j < len(s) && b64Class[s[j]] {
			j++
		}
		if j-i >= 16 {
			return s[i:j], j, true
		}
		i = j
	}
	return "", len(s), false
}

// DecodeBase64 decodes standard or URL-safe base64, padded or not.
func DecodeBase64(r string) (string, bool) {
	t := strings.TrimRight(r, "=")
	if len(t) < 12 || len(t)%4 == 1 {
		return "", false
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(t, "-_") {
		if strings.ContainsAny(t, "+/") {
			return "", false
		}
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(t)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// DecodeBase32 decodes RFC 4648 base32 (upper case, optional padding).
func DecodeBase32(r string) (string, bool) {
	t := strings.TrimRight(r, "=")
	if len(t) < 16 {
		return "", false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) {
			return "", false
		}
	}
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(t)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DecodeHex decodes an even-length run of hex digits.
func DecodeHex(r string) (string, bool) {
	if len(r) < 16 || len(r)%2 != 0 {
		return "", false
	}
	b := make([]byte, len(r)/2)
	for i := 0; i < len(r); i += 2 {
		h, ok1 := unhex(r[i])
		l, ok2 := unhex(r[i+1])
		if !ok1 || !ok2 {
			return "", false
		}
		b[i/2] = h<<4 | l
	}
	return string(b), true
}

// decodeEscapes decodes every "<marker>XX" hex escape in s when there are at
// least three of them; it is lenient (malformed escapes are kept).
func decodeEscapes(s string, marker byte) (string, bool) {
	if !hasEscapes(s, marker, 3) {
		return "", false
	}
	return string(appendUnescaped(make([]byte, 0, len(s)), s, marker)), true
}

// hasEscapes reports whether s holds at least min "<marker>XX" escapes.
func hasEscapes(s string, marker byte, min int) bool {
	n := 0
	for i := 0; ; {
		k := strings.IndexByte(s[i:], marker)
		if k < 0 {
			return false
		}
		i += k
		if i+2 >= len(s) {
			return false
		}
		if isHexDigit[s[i+1]] && isHexDigit[s[i+2]] {
			if n++; n >= min {
				return true
			}
		}
		i++
	}
}

var isHexDigit = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		_, t[c] = unhex(byte(c))
	}
	return t
}()

// appendUnescaped appends s with its "<marker>XX" escapes decoded (and, for
// quoted-printable, soft line breaks removed) to b.
func appendUnescaped(b []byte, s string, marker byte) []byte {
	for i := 0; i < len(s); i++ {
		k := strings.IndexByte(s[i:], marker)
		if k < 0 {
			return append(b, s[i:]...)
		}
		b = append(b, s[i:i+k]...)
		i += k
		c := s[i]
		if i+1 < len(s) {
			if marker == '=' && (s[i+1] == '\n' || (s[i+1] == '\r' && i+2 < len(s) && s[i+2] == '\n')) {
				// quoted-printable soft line break
				if s[i+1] == '\r' {
					i++
				}
				i++
				continue
			}
			if i+2 < len(s) {
				h, ok1 := unhex(s[i+1])
				l, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					b = append(b, h<<4|l)
					i += 2
					continue
				}
			}
		}
		b = append(b, c)
	}
	return b
}

// DecodeURL decodes percent-encoding when the text has ≥ 3 escapes.
func DecodeURL(s string) (string, bool) { return decodeEscapes(s, '%') }

// DecodeQP decodes quoted-printable when the text has ≥ 3 "=XX" escapes.
func DecodeQP(s string) (string, bool) { return decodeEscapes(s, '=') }

// DecodeHTML unescapes HTML character references when there are ≥ 2.
func DecodeHTML(s string) (string, bool) {
	n := 0
	for i := 0; i < len(s) && n < 2; i++ {
		k := strings.IndexByte(s[i:], '&') // vectorised skip to the next reference
		if k < 0 {
			break
		}
		i += k
		j := i + 1
		for j < len(s) && j-i < 12 && s[j] != ';' && s[j] != '&' && s[j] != ' ' {
			j++
		}
		if j < len(s) && s[j] == ';' && j > i+1 {
			n++
		}
	}
	if n < 2 {
		return "", false
	}
	out := html.UnescapeString(s)
	return out, out != s
}

// rot13Words are frequent short English words; rot13 decoding is accepted
// only when it raises their count markedly (rot13 cannot be recognised by
// syntax). They are kept in a dense table indexed by the packed letters so the
// check costs one load per word.
var rot13Words = [...]string{
	"a", "the", "and", "you", "all", "to", "of", "is", "are", "for", "now", "in", "it", "be", "not", "do", "me",
	"any", "or", "if", "my", "as", "on", "at", "by", "an", "we", "no", "so", "can", "but", "was", "has",
	"your", "with", "that", "this", "from", "have", "what", "will", "text", "word", "each", "into", "only",
	"then", "them", "when", "make", "like", "also", "more", "some", "just", "user", "give", "tell", "list",
	"must", "code", "data", "send", "next", "same", "than", "here", "file", "name", "link", "were", "they",
	// German (the dev data is English and German)
	"die", "der", "und", "ist", "ich", "du", "das", "den", "ein", "eine", "zu", "mit", "auf", "sie", "es", "wie",
	"was", "nun", "alle", "auch", "dich", "mir", "oder", "aber", "nach", "dem", "sich", "nur", "bin", "hast",
}

// commonSet is an open-addressing hash set of the rot13Words keys (words
// of up to four letters packed base 27, 0 = empty slot): 2 KiB, so the
// per-word lookups of lineHints stay in the L1 cache (a bit set over every
// key is 66 KiB).
var commonSet [commonSlots]uint32

const commonSlots = 512 // power of two, > 2 × len(rot13Words)

func commonSlot(k int) int { return int((uint32(k) * 0x9e3779b1) >> (32 - 9)) }

func isCommon(k int) bool {
	for i := commonSlot(k); ; i = (i + 1) & (commonSlots - 1) {
		switch commonSet[i] {
		case uint32(k):
			return k != 0
		case 0:
			return false
		}
	}
}

// common3 is commonSet's keys of up to three letters as a bit set (2.4
// KiB): lineHints looks short words up with one load, no hashing.
var common3 [(27*27*27 + 63) / 64]uint64

func init() {
	for _, w := range rot13Words {
		if len(w) <= 3 {
			k := wordKey(w)
			common3[k>>6] |= 1 << (k & 63)
		}
	}
	for _, w := range rot13Words {
		k := uint32(wordKey(w))
		i := commonSlot(int(k))
		for commonSet[i] != 0 && commonSet[i] != k {
			i = (i + 1) & (commonSlots - 1)
		}
		commonSet[i] = k
	}
}

func wordKey[T string | []byte](w T) int {
	k := 0
	for i := 0; i < len(w); i++ {
		k = k*27 + int(w[i]-'a'+1)
	}
	return k
}

func rot(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z':
		return 'a' + (c-'a'+13)%26
	case c >= 'A' && c <= 'Z':
		return 'A' + (c-'A'+13)%26
	}
	return c
}

// DecodeRot13 returns the rot13 decoding of every line whose decoding has
// clearly more common English words than the line itself, or whose letters
// read as rot13 to the letter model (letters.go; rot13 cannot be
// recognised by syntax), joined by newlines.
func DecodeRot13(s string) (string, bool) { return decodeRot13(s, true) }

// decodeRot13 is DecodeRot13, with the letter model only when letters is
// set.
func decodeRot13(s string, letters bool) (string, bool) {
	var b []byte
	for a := 0; a < len(s); {
		e := strings.IndexByte(s[a:], '\n')
		if e < 0 {
			e = len(s)
		} else {
			e += a
		}
		if l := s[a:e]; rot13Line(l) || (letters && defaultLetters.rot13(l)) {
			if b == nil {
				b = make([]byte, 0, e-a)
			} else {
				b = append(b, '\n')
			}
			for i := a; i < e; i++ {
				b = append(b, rot(s[i]))
			}
		}
		a = e + 1
	}
	return string(b), b != nil
}

func rot13Line(s string) bool {
	plain, rotated, words := 0, 0, 0
	k1, k2, n := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		var c byte = ' '
		if i < len(s) {
			c = s[i]
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' {
			if n < 4 {
				k1 = k1*27 + int(c-'a'+1)
				k2 = k2*27 + int(rot(c)-'a'+1)
			}
			n++
			continue
		}
		if n > 0 {
			words++
			if n <= 4 {
				if isCommon(k1) {
					plain++
				}
				if isCommon(k2) {
					rotated++
				}
			}
		}
		k1, k2, n = 0, 0, 0
	}
	return rotated >= 2 && rotated >= 2*plain+2 && rotated*8 >= words
}

// DecodeReversed returns every line written backwards ("snoitcurtsni
// suoiverp erongi") reversed back, when reversing clearly raises the number
// of common words or the letter model reads the line as reversed, joined by
// newlines.
func DecodeReversed(s string) (string, bool) { return decodeReversed(s, true) }

// decodeReversed is DecodeReversed, with the letter model only when letters
// is set.
func decodeReversed(s string, letters bool) (string, bool) {
	var b []byte
	for a := 0; a < len(s); {
		e := strings.IndexByte(s[a:], '\n')
		if e < 0 {
			e = len(s)
		} else {
			e += a
		}
		if l := s[a:e]; (reversedLine(l) || (letters && defaultLetters.reversed(l))) && utf8.ValidString(l) {
			if b != nil {
				b = append(b, '\n')
			}
			line := []rune(s[a:e])
			for i := len(line) - 1; i >= 0; i-- {
				b = utf8.AppendRune(b, line[i])
			}
		}
		a = e + 1
	}
	return string(b), b != nil
}

func reversedLine(s string) bool {
	plain, rev, words := 0, 0, 0
	var w [4]byte
	n := 0
	for i := 0; i <= len(s); i++ {
		var c byte = ' '
		if i < len(s) {
			c = s[i]
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' {
			if n < 4 {
				w[n] = c
			}
			n++
			continue
		}
		if n > 0 {
			words++
			if n <= 4 {
				k1, k2 := 0, 0
				for j := 0; j < n; j++ {
					k1 = k1*27 + int(w[j]-'a'+1)
					k2 = k2*27 + int(w[n-1-j]-'a'+1)
				}
				if isCommon(k1) {
					plain++
				}
				if isCommon(k2) {
					rev++
				}
			}
		}
		n = 0
	}
	return rev >= 2 && rev >= 2*plain+2 && rev*8 >= words
}

// decodeHints reports whether DecodeRot13 and DecodeReversed can accept a
// line of s: the one-pass common-word test, then the letter model
// (letters.go) for what it leaves.
func decodeHints(s string) (rot, rev bool) {
	rot, rev = lineHints(s)
	if !rot || !rev {
		r, v := letterHints(s)
		rot, rev = rot || r, rev || v
	}
	return rot, rev
}

// lineHints reports, in one pass, whether any line would pass the rot13 or
// the reversed-text test (same criteria as rot13Line and reversedLine), so
// the common case costs one scan instead of two.
func lineHints(s string) (rotOK, revOK bool) {
	plain, rotated, reversed, words := 0, 0, 0, 0
	for i := 0; i <= len(s); {
		if i == len(s) || s[i] == '\n' {
			rotOK = rotOK || (rotated >= 2 && rotated >= 2*plain+2 && rotated*8 >= words)
			revOK = revOK || (reversed >= 2 && reversed >= 2*plain+2 && reversed*8 >= words)
			plain, rotated, reversed, words = 0, 0, 0, 0
			i++
			continue
		}
		if letterVal[s[i]] == 0 {
			i++
			continue
		}
		// a word: its letters are found first, and only a short one
		// (the common-word keys have at most four letters) is keyed
		j := i + 1
		for j < len(s) && letterVal[s[j]] != 0 {
			j++
		}
		words++
		if j-i <= 4 {
			k1, k2, k3, pw := 0, 0, 0, 1
			for p := i; p < j; p++ {
				v := int(letterVal[s[p]])
				k1 = k1*27 + v
				k2 = k2*27 + int(rotVal[s[p]])
				k3 += v * pw
				pw *= 27
			}
			if j-i <= 3 { // the usual short word: one bit-set load per key
				plain += int(common3[k1>>6] >> (k1 & 63) & 1)
				rotated += int(common3[k2>>6] >> (k2 & 63) & 1)
				reversed += int(common3[k3>>6] >> (k3 & 63) & 1)
			} else {
				if isCommon(k1) {
					plain++
				}
				if isCommon(k2) {
					rotated++
				}
				if isCommon(k3) {
					reversed++
				}
			}
		}
		i = j
	}
	return rotOK, revOK
}

// letterVal is a letter's 1..26 index, either case (0 = not an ASCII
// letter); rotVal the index of its rot13 image.
var letterVal, rotVal = func() (lv, rv [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		v := uint8(c-'a') + 1
		r := uint8(rot(byte(c))-'a') + 1
		lv[c], lv[c-'a'+'A'] = v, v
		rv[c], rv[c-'a'+'A'] = r, r
	}
	return lv, rv
}()
