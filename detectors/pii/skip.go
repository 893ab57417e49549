package pii

import "math/bits"

// Skip-ahead helpers: the recognisers spend most of their time walking
// bytes that cannot start a match. These find the next byte of a class
// eight bytes at a time (SWAR on a little-endian 64-bit word), then the
// tail one byte at a time. Each returns len(s) when there is none.

const (
	lo7  = 0x7f7f7f7f7f7f7f7f
	hi1  = 0x8080808080808080
	ones = 0x0101010101010101
)

// load64 reads s[i:i+8] as a little-endian word (the compiler merges the
// byte loads into one).
func load64(s string, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// inRange sets the high bit of every byte of x in [lo, hi] (ASCII bounds):
// for b < 0x80, b+(0x80-lo) reaches 0x80 iff b ≥ lo, b+(0x7f-hi) iff b > hi,
// and neither sum carries into the next byte.
func inRange(x uint64, lo, hi byte) uint64 {
	low := x & lo7
	ge := low + uint64(0x80-lo)*ones
	gt := low + uint64(0x7f-hi)*ones
	return ge &^ gt &^ x & hi1
}

// eqByte sets the high bit of every byte of x equal to c (exact: no
// borrow between bytes).
func eqByte(x uint64, c byte) uint64 {
	t := x ^ uint64(c)*ones
	return ^((t&lo7 + lo7) | t | lo7)
}

// firstSet is the byte index of the lowest high bit set in m (m != 0).
func firstSet(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// nextDigit returns the first i' ≥ i with s[i'] an ASCII digit.
func nextDigit(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := inRange(load64(s, i), '0', '9'); m != 0 {
			return i + firstSet(m)
		}
	}
	for ; i < len(s) && !isDigit(s[i]); i++ {
	}
	return i
}

// nextUpper returns the first i' ≥ i with s[i'] in 'A'..'Z'.
func nextUpper(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := inRange(load64(s, i), 'A', 'Z'); m != 0 {
			return i + firstSet(m)
		}
	}
	for ; i < len(s) && !('A' <= s[i] && s[i] <= 'Z'); i++ {
	}
	return i
}

// nextRunStart returns the first i' ≥ i with runStart[s[i']] (a digit,
// '+' or '(').
func nextRunStart(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		if m := inRange(x, '0', '9') | eqByte(x, '+') | eqByte(x, '('); m != 0 {
			return i + firstSet(m)
		}
	}
	for ; i < len(s) && !runStart[s[i]]; i++ {
	}
	return i
}

// asciiPrefix returns the length of the longest ASCII prefix of s.
func asciiPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := load64(s, i) & hi1; m != 0 {
			return i + firstSet(m)
		}
	}
	for ; i < len(s) && s[i] < 0x80; i++ {
	}
	return i
}
