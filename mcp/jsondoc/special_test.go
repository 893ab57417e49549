package jsondoc

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// needsLook is the byte-wise definition specialMask implements.
func needsLook(c byte) bool { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80 }

// firstLook is the index of the first byte of w that needsLook, 8 if none.
func firstLook(w []byte) int {
	for i, c := range w {
		if needsLook(c) {
			return i
		}
	}
	return 8
}

// TestSpecialMaskLowestLane: the lowest flagged lane is exactly the first
// byte that needs a look (skipString jumps there), for every byte value at
// every lane over several backgrounds, and for random words dense in
// borderline bytes.
func TestSpecialMaskLowestLane(t *testing.T) {
	check := func(w []byte) {
		t.Helper()
		m := specialMask(binary.LittleEndian.Uint64(w))
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if want := firstLook(w); got != want {
			t.Fatalf("word %q: first lane %d, want %d", w, got, want)
		}
	}
	for _, bg := range []byte{'a', ' ', 0x21, '"' + 1, '\\' - 1, 0x7f, 0x00, 0x1f, 0x80, 0xff} {
		for lane := range 8 {
			for c := range 256 {
				w := []byte{bg, bg, bg, bg, bg, bg, bg, bg}
				w[lane] = byte(c)
				check(w)
				// A second, higher special byte must not hide the first.
				if lane < 7 {
					w[7] = '"'
					check(w)
				}
			}
		}
	}
	edge := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', '"' - 1, '"' + 1, '\\', '\\' - 1, '\\' + 1, 0x7f, 0x80, 0x81, 0xa0, 0xff, 'a'}
	r := rand.New(rand.NewPCG(1, 2))
	w := make([]byte, 8)
	for range 200000 {
		for i := range w {
			w[i] = edge[r.IntN(len(edge))]
		}
		check(w)
	}
}

// TestSkipStringEscapeDense: strings dense with escapes and multi-byte
// runes parse to the same ranges as with a one-byte-at-a-time scan would
// find, and errors inside them are still caught.
func TestSkipStringEscapeDense(t *testing.T) {
	for _, c := range []struct {
		src string
		ok  bool
	}{
		{`"{\"id\":1,\"t\":\"a\\\\b\"}"`, true},
		{`"\"\"\"\"\"\"\"\"\"\""`, true},
		{`"abcdefg\"hijklmn\\opqrstu\u00e9vwxyz é日本語 plain tail"`, true},
		{`"abcdefgh` + "\x01" + `"`, false},
		{`"abcdefg\"hijklmn` + "\xff" + `xyz"`, false},
		{`"abcdefg\"hijklmn\qxyz"`, false},
		{`"abcdefg\"hijklmn`, false},
	} {
		d, err := Parse([]byte(c.src), Options{})
		if (err == nil) != c.ok {
			t.Errorf("Parse(%q) error = %v, want ok=%v", c.src, err, c.ok)
			continue
		}
		if c.ok && (d.Nodes[0].Kind != String || int(d.Nodes[0].End) != len(c.src)) {
			t.Errorf("Parse(%q) = %+v, want one string over the whole input", c.src, d.Nodes[0])
		}
	}
}
