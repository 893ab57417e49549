package normref

import (
	"encoding/base32"
	"encoding/base64"
	"html"
	"strings"
	"unicode/utf8"
)

// decoder accumulates bounded recursive decodings of one text.
type decoder struct {
	sigs  *sigSet
	out   []string
	bytes int
}

func (d *decoder) full() bool { return len(d.out) >= MaxDecoded || d.bytes >= MaxDecodedBytes }

// accept records raw (a decoding at depth) if it looks like text, and decodes
// it further.
func (d *decoder) accept(raw string, depth int) bool {
	raw = strings.TrimSpace(raw)
	if len(raw) < 4 || d.full() || !Printable(raw) {
		return false
	}
	if len(raw) > MaxDecodedBytes-d.bytes {
		raw = strings.ToValidUTF8(raw[:MaxDecodedBytes-d.bytes], "")
	}
	var sigs sigSet
	clean, _, _ := stripInvisible(raw, &sigs)
	f := fold(clean, &sigs)
	d.out = append(d.out, f)
	d.bytes += len(f)
	if depth+1 < MaxDepth {
		d.run(clean, depth+1)
	}
	return true
}

// run tries every decoder on s.
func (d *decoder) run(s string, depth int) {
	if depth >= MaxDepth || d.full() {
		return
	}
	for _, r := range Base64Runs(s) {
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
	if dec, ok := DecodeURL(s); ok && d.accept(dec, depth) {
		d.sigs.add(SigURL)
	}
	if dec, ok := DecodeHTML(s); ok && d.accept(dec, depth) {
		d.sigs.add(SigHTML)
	}
	if dec, ok := DecodeQP(s); ok && d.accept(dec, depth) {
		d.sigs.add(SigQP)
	}
	rotHint, revHint := lineHints(s)
	if rotHint {
		if dec, ok := DecodeRot13(s); ok && d.accept(dec, depth) {
			d.sigs.add(SigRot13)
		}
	}
	if revHint {
		if dec, ok := DecodeReversed(s); ok && d.accept(dec, depth) {
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
		if !isB64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isB64(s[j]) {
			j++
		}
		if j-i >= 16 {
			runs = append(runs, s[i:j])
		}
		i = j
	}
	return runs
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
	n := 0
	for i := 0; i+2 < len(s); i++ {
		if s[i] == marker {
			if _, ok := unhex(s[i+1]); ok {
				if _, ok := unhex(s[i+2]); ok {
					n++
				}
			}
		}
	}
	if n < 3 {
		return "", false
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == marker && i+1 < len(s) {
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
	return string(b), true
}

// DecodeURL decodes percent-encoding when the text has ≥ 3 escapes.
func DecodeURL(s string) (string, bool) { return decodeEscapes(s, '%') }

// DecodeQP decodes quoted-printable when the text has ≥ 3 "=XX" escapes.
func DecodeQP(s string) (string, bool) { return decodeEscapes(s, '=') }

// DecodeHTML unescapes HTML character references when there are ≥ 2.
func DecodeHTML(s string) (string, bool) {
	n := 0
	for i := 0; i < len(s) && n < 2; i++ {
		if s[i] != '&' {
			continue
		}
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

// commonWord is a bit set over words of up to four letters.
var commonWord [(27*27*27*27 + 63) / 64]uint64

func isCommon(k int) bool { return commonWord[k/64]&(1<<(k%64)) != 0 }

func init() {
	for _, w := range rot13Words {
		k := wordKey(w)
		commonWord[k/64] |= 1 << (k % 64)
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
// clearly more common English words than the line itself (rot13 cannot be
// recognised by syntax), joined by newlines.
func DecodeRot13(s string) (string, bool) {
	var b []byte
	for a := 0; a < len(s); {
		e := strings.IndexByte(s[a:], '\n')
		if e < 0 {
			e = len(s)
		} else {
			e += a
		}
		if rot13Line(s[a:e]) {
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
// of common words, joined by newlines.
func DecodeReversed(s string) (string, bool) {
	var b []byte
	for a := 0; a < len(s); {
		e := strings.IndexByte(s[a:], '\n')
		if e < 0 {
			e = len(s)
		} else {
			e += a
		}
		if reversedLine(s[a:e]) && utf8.ValidString(s[a:e]) {
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

// lineHints reports, in one pass, whether any line would pass the rot13 or
// the reversed-text test (same criteria as rot13Line and reversedLine), so
// the common case costs one scan instead of two.
func lineHints(s string) (rotOK, revOK bool) {
	plain, rotated, reversed, words := 0, 0, 0, 0
	k1, k2, k3, n, pw := 0, 0, 0, 0, 1
	for i := 0; i <= len(s); i++ {
		var c byte = '\n'
		if i < len(s) {
			c = s[i]
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' {
			if n < 4 {
				v := int(c - 'a' + 1)
				k1 = k1*27 + v
				k2 = k2*27 + int(rot(c)-'a'+1)
				k3 += v * pw
				pw *= 27
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
				if isCommon(k3) {
					reversed++
				}
			}
		}
		k1, k2, k3, n, pw = 0, 0, 0, 0, 1
		if c == '\n' {
			rotOK = rotOK || (rotated >= 2 && rotated >= 2*plain+2 && rotated*8 >= words)
			revOK = revOK || (reversed >= 2 && reversed >= 2*plain+2 && reversed*8 >= words)
			plain, rotated, reversed, words = 0, 0, 0, 0
		}
	}
	return rotOK, revOK
}
