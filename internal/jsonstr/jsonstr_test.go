package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// runeClasses holds one sample of every class the encoder treats
// differently.
var runeClasses = []struct{ name, s string }{
	{"empty", ""},
	{"plain ASCII", "hello, world 0123 ~"},
	{"quote and backslash", `a"b\c`},
	{"short escapes", "\b\f\n\r\t"},
	{"other controls", "\x00\x01\x1f"},
	{"DEL", "\x7f"},
	{"HTML", "<script>&amp;</script>"},
	{"slash", "a/b"},
	{"two-byte", "é ß"},
	{"three-byte", "€ 中"},
	{"four-byte", "😀 𝄞"},
	{"line and paragraph separators", "a\u2028b\u2029c"},
	{"invalid byte", "a\xffb"},
	{"truncated sequence", "\xe2\x82"},
	{"encoded surrogate", "\xed\xa0\x80"},
	{"overlong", "\xc0\xaf"},
	{"replacement char itself", "\ufffd"},
	{"BOM", "\ufeff"},
}

func TestMatchesMarshal(t *testing.T) {
	for _, tc := range runeClasses {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := Append(nil, tc.s); string(got) != string(want) {
				t.Errorf("Append(%q) = %s, want %s", tc.s, got, want)
			}
			if got := Append(nil, []byte(tc.s)); string(got) != string(want) {
				t.Errorf("Append([]byte %q) = %s, want %s", tc.s, got, want)
			}
			inner := AppendInner([]byte("x"), tc.s)
			if string(inner[1:]) != string(want[1:len(want)-1]) {
				t.Errorf("AppendInner(%q) = %s, want %s", tc.s, inner[1:], want[1:len(want)-1])
			}
		})
	}
}

// TestEveryRune encodes every code point (and every lone byte) and checks
// the result is valid JSON that decodes to the input with invalid UTF-8
// replaced.
func TestEveryRune(t *testing.T) {
	var b strings.Builder
	for r := rune(0); r <= utf8.MaxRune; r++ {
		b.WriteRune(r)
	}
	for c := 0x80; c < 0x100; c++ {
		b.WriteByte(byte(c))
	}
	in := b.String()
	out := Append(nil, in)
	want, _ := json.Marshal(in)
	if string(out) != string(want) {
		t.Fatal("Append differs from json.Marshal over the whole code space")
	}
	var back string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back != strings.ToValidUTF8(in, "\ufffd") && back != string([]rune(in)) {
		t.Error("round trip lost data")
	}
}

func TestNoAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	s := "a<b>\"c\"\n\xff\u2028é"
	if n := testing.AllocsPerRun(100, func() { dst = Append(dst[:0], s) }); n != 0 {
		t.Errorf("%v allocs per Append", n)
	}
}

func FuzzMatchesMarshal(f *testing.F) {
	for _, tc := range runeClasses {
		f.Add(tc.s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Skip()
		}
		if got := Append(nil, s); string(got) != string(want) {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
		if !json.Valid(Append(nil, []byte(s))) {
			t.Fatalf("invalid JSON for %q", s)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	s := strings.Repeat("lorem ipsum dolor sit amet, ", 150)
	dst := make([]byte, 0, 2*len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		dst = Append(dst[:0], s)
	}
}
