package injection

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// Transform is one evasion technique applied to text, for the evasion suite
// (eval and tests). Every transform of the normalisation layer's scope is
// covered.
type Transform struct {
	Name  string
	Apply func(string) string
}

// Transforms lists the evasion transforms, in a fixed order.
var Transforms = []Transform{
	{"plain", func(s string) string { return s }},
	{"zero_width", zeroWidth},
	{"bidi", bidi},
	{"unicode_tags", tags},
	{"variation_selectors", variation},
	{"homoglyphs", homoglyphs},
	{"leetspeak", leetspeak},
	{"spacing_out", spacingOut},
	{"case_mixing", caseMixing},
	{"base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base32", b32},
	{"hex", func(s string) string { return hex.EncodeToString([]byte(s)) }},
	{"url", url.PathEscape},
	{"html_entities", htmlEntities},
	{"quoted_printable", qp},
	{"rot13", rot13},
	{"reversed", reverse},
	{"base64_of_url", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(url.PathEscape(s))) }},
}

func zeroWidth(s string) string {
	var b strings.Builder
	i := 0
	for _, r := range s {
		b.WriteRune(r)
		if unicode.IsLetter(r) && i%2 == 1 {
			b.WriteRune('\u200b')
		}
		i++
	}
	return b.String()
}

func bidi(s string) string {
	var b strings.Builder
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("\u202a" + w + "\u202c")
	}
	return b.String()
}

func tags(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(0xE0000 + r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func variation(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
		if unicode.IsLetter(r) {
			b.WriteRune('\ufe0f')
		}
	}
	return b.String()
}

var homoglyphMap = map[rune]rune{'a': 'а', 'e': 'е', 'o': 'о', 'c': 'с', 'p': 'р', 'x': 'х', 'y': 'у', 'i': 'і', 's': 'ѕ', 'A': 'А', 'E': 'Е', 'O': 'О', 'T': 'Т', 'H': 'Н'}

func homoglyphs(s string) string {
	return strings.Map(func(r rune) rune {
		if m, ok := homoglyphMap[r]; ok {
			return m
		}
		return r
	}, s)
}

func leetspeak(s string) string {
	return strings.Map(func(r rune) rune {
		switch unicode.ToLower(r) {
		case 'a':
			return '4'
		case 'e':
			return '3'
		case 'i':
			return '1'
		case 'o':
			return '0'
		case 's':
			return '5'
		case 't':
			return '7'
		}
		return r
	}, s)
}

func spacingOut(s string) string {
	var b strings.Builder
	for i, w := range strings.Fields(s) {
		if i > 0 {
			b.WriteString("   ")
		}
		for j, r := range w {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

func caseMixing(s string) string {
	i := 0
	return strings.Map(func(r rune) rune {
		i++
		if i%2 == 0 {
			return unicode.ToUpper(r)
		}
		return unicode.ToLower(r)
	}, s)
}

func b32(s string) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b strings.Builder
	buf := []byte(s)
	for i := 0; i < len(buf); i += 5 {
		var chunk [5]byte
		n := copy(chunk[:], buf[i:])
		v := uint64(chunk[0])<<32 | uint64(chunk[1])<<24 | uint64(chunk[2])<<16 | uint64(chunk[3])<<8 | uint64(chunk[4])
		out := (n*8 + 4) / 5
		for k := 0; k < 8; k++ {
			if k < out {
				b.WriteByte(alpha[(v>>(35-5*k))&31])
			} else {
				b.WriteByte('=')
			}
		}
	}
	return b.String()
}

func htmlEntities(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, "&#%d;", r)
	}
	return b.String()
}

func qp(s string) string {
	var b strings.Builder
	line := 0
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "=%02X", s[i])
		line += 3
		if line >= 72 {
			b.WriteString("=\n")
			line = 0
		}
	}
	return b.String()
}

func rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = rot13b(c)
	}
	return string(b)
}

func rot13b(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z':
		return 'a' + (c-'a'+13)%26
	case c >= 'A' && c <= 'Z':
		return 'A' + (c-'A'+13)%26
	}
	return c
}

// ApplyToRow applies t to the attack part of a row when known (the attacker
// controls only the inserted text), otherwise to the whole text.
func ApplyToRow(t Transform, r Row) string {
	if r.Attack != "" {
		if i := strings.Index(r.Text, r.Attack); i >= 0 {
			return r.Text[:i] + t.Apply(r.Attack) + r.Text[i+len(r.Attack):]
		}
	}
	return t.Apply(r.Text)
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
