package pii

import (
	"strings"
	"testing"
)

func refNext(s string, i int, f func(byte) bool) int {
	for ; i < len(s) && !f(s[i]); i++ {
	}
	return i
}

// TestSkipHelpers: every skip-ahead helper agrees with a byte loop for
// every byte value at every offset of the word and the tail.
func TestSkipHelpers(t *testing.T) {
	for n := 0; n <= 19; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("\x00\x7f\xff.", 5)[:n])
				b[pos] = byte(c)
				s := string(b)
				for i := 0; i <= n; i++ {
					if got, want := nextDigit(s, i), refNext(s, i, isDigit); got != want {
						t.Fatalf("nextDigit(%q, %d) = %d, want %d", s, i, got, want)
					}
					if got, want := nextUpper(s, i), refNext(s, i, func(c byte) bool { return 'A' <= c && c <= 'Z' }); got != want {
						t.Fatalf("nextUpper(%q, %d) = %d, want %d", s, i, got, want)
					}
					if got, want := nextRunStart(s, i), refNext(s, i, func(c byte) bool { return runStart[c] }); got != want {
						t.Fatalf("nextRunStart(%q, %d) = %d, want %d", s, i, got, want)
					}
				}
				if got, want := asciiPrefix(s), refNext(s, 0, func(c byte) bool { return c >= 0x80 }); got != want {
					t.Fatalf("asciiPrefix(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}
