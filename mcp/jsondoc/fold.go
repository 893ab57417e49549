package jsondoc

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// AppendFold appends the canonical fold of key k: NFKC, then every rune
// mapped to the smallest rune of its simple case-folding orbit (ASCII
// letters become upper case), the same fold encoding/json uses to match
// field names. Keys with equal folds are ambiguous to servers built on it.
func AppendFold(dst, k []byte) []byte {
	if !isASCII(k) {
		k = norm.NFKC.Bytes(k)
	}
	for i := 0; i < len(k); {
		c := k[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(k[i:])
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// foldRune returns the smallest rune of r's simple case-folding orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiEqualFold compares two ASCII strings ignoring ASCII case.
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// foldEqual reports whether a and b have the same canonical fold.
func foldEqual(a, b []byte) bool {
	if isASCII(a) && isASCII(b) {
		return asciiEqualFold(a, b)
	}
	var x, y [64]byte
	return string(AppendFold(x[:0], a)) == string(AppendFold(y[:0], b))
}
