package jsonwalk

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestWalk(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		paths []string
		vals  []string
	}{
		{"tool result", `{"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}`,
			[]string{"result.content.0.type", "result.content.0.text"}, []string{"text", "hi"}},
		{"escapes", `{"a":"x\ny\u00e9\ud83d\ude00\"q"}`, []string{"a"}, []string{"x\nyé😀\"q"}},
		{"dotted key", `{"a.b":{"c\\d":"v"}}`, []string{`a\.b.c\\d`}, []string{"v"}},
		{"top string", `"solo"`, []string{""}, []string{"solo"}},
		{"numbers and literals", `[1,-2.5e3,true,false,null,"s"]`, []string{"5"}, []string{"s"}},
		{"lone surrogate", `["\ud800x"]`, []string{"0"}, []string{"\ufffdx"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Walk([]byte(tc.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Leaves) != len(tc.paths) {
				t.Fatalf("got %d leaves, want %d: %+v", len(res.Leaves), len(tc.paths), res.Leaves)
			}
			for i, l := range res.Leaves {
				if l.Path != tc.paths[i] || l.Value != tc.vals[i] {
					t.Errorf("leaf %d = %q %q, want %q %q", i, l.Path, l.Value, tc.paths[i], tc.vals[i])
				}
				var s string
				if err := json.Unmarshal([]byte(tc.in[l.RawStart:l.RawEnd]), &s); err != nil {
					t.Errorf("raw token %q is not a JSON string: %v", tc.in[l.RawStart:l.RawEnd], err)
				}
			}
		})
	}
}

func TestWalkErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lim  Limits
		want error
	}{
		{"deep", strings.Repeat("[", 200) + strings.Repeat("]", 200), Limits{}, ErrTooDeep},
		{"too large", `"` + strings.Repeat("a", 100) + `"`, Limits{MaxBytes: 50}, ErrTooLarge},
		{"too many", `["a","b","c"]`, Limits{MaxLeaves: 2}, ErrTooMany},
		{"truncated", `{"a":"b"`, Limits{}, ErrSyntax},
		{"trailing", `{} x`, Limits{}, ErrSyntax},
		{"control char", "[\"a\x01\"]", Limits{}, ErrSyntax},
		{"bad escape", `["\q"]`, Limits{}, ErrSyntax},
		{"empty", ``, Limits{}, ErrSyntax},
		{"binary", "\x00\xff\xfe", Limits{}, ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Walk([]byte(tc.in), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n tab\t ctl\x01", "é😀", "bad\xffutf8"} {
		var got string
		if err := json.Unmarshal(Quote(s), &got); err != nil {
			t.Fatalf("Quote(%q) invalid: %v", s, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Errorf("Quote(%q) round-trips to %q", s, got)
		}
	}
}

// FuzzWalk: never panics; on success every raw token decodes (with
// encoding/json) to the reported value, and whatever encoding/json accepts
// within limits we accept too.
func FuzzWalk(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",{"c":"d"}]}`, `"x\u0041"`, `[`, `{"a":"\ud83d\ude00"}`, strings.Repeat("[", 100), `{"a":"x\"y\\\\\"z\\","b":"q\\"}`, `["\n\\\\"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Walk(data, Limits{MaxDepth: 64})
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		for _, l := range res.Leaves {
			var s string
			if err := json.Unmarshal(data[l.RawStart:l.RawEnd], &s); err != nil {
				t.Fatalf("raw token %q: %v", data[l.RawStart:l.RawEnd], err)
			}
			if perByte(l.Value) != s {
				t.Fatalf("value %q, encoding/json says %q", l.Value, s)
			}
		}
	})
}

// perByte replaces every invalid byte with U+FFFD, as encoding/json does.
func perByte(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// TestKeyPaths: keys read without a copy (no escapes) and keys with escapes
// give the same member paths and value-like key leaves.
func TestKeyPaths(t *testing.T) {
	tests := []struct {
		in        string
		paths     []string
		keyPaths  []string
		keyValues []string
	}{
		{`{"a":{"b":"v"}}`, []string{"a.b"}, nil, nil},
		{`{"\u0061":{"b":"v"}}`, []string{"a.b"}, nil, nil},
		{`{"k.ey":"v","k\u002eey":"w"}`, []string{`k\.ey`, `k\.ey`}, nil, nil},
		{`{"x":{"jo@example.org":"v"}}`, []string{"x.jo@example\\.org"}, []string{"x.jo@example\\.org"}, []string{"jo@example.org"}},
		{`{"x":{"jo\u0040example.org":1}}`, nil, []string{"x.jo@example\\.org"}, []string{"jo@example.org"}},
		{`{"4111111111111111":[{"é":"v"}]}`, []string{"4111111111111111.0.é"}, []string{"4111111111111111", "4111111111111111.0.é"}, []string{"4111111111111111", "é"}},
		{`{"":{"":"v"}}`, []string{""}, nil, nil}, // empty keys join to "" (as before)
	}
	for _, tc := range tests {
		res, err := Walk([]byte(tc.in), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		var paths, kp, kv []string
		for _, l := range res.Leaves {
			paths = append(paths, l.Path)
		}
		for _, k := range res.Keys {
			kp = append(kp, k.Path)
			kv = append(kv, k.Value)
			var s string
			if err := json.Unmarshal([]byte(tc.in[k.RawStart:k.RawEnd]), &s); err != nil || s != k.Value {
				t.Errorf("%s: key token %q does not decode to %q", tc.in, tc.in[k.RawStart:k.RawEnd], k.Value)
			}
		}
		if !slices.Equal(paths, tc.paths) || !slices.Equal(kp, tc.keyPaths) || !slices.Equal(kv, tc.keyValues) {
			t.Errorf("%s: paths %q keys %q %q, want %q %q %q", tc.in, paths, kp, kv, tc.paths, tc.keyPaths, tc.keyValues)
		}
	}
}

// TestSkipPlain: the eight-byte skip stops where the byte loop stops, for
// every byte value at every offset of the word and the tail.
func TestSkipPlain(t *testing.T) {
	for n := 0; n <= 19; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a\x7f\xff ", 5)[:n])
				b[pos] = byte(c)
				for i := 0; i <= n; i++ {
					want := i
					for want < n && plainStrByte[b[want]] {
						want++
					}
					if got := skipPlain(b, i); got != want {
						t.Fatalf("skipPlain(%q, %d) = %d, want %d", b, i, got, want)
					}
				}
			}
		}
	}
}
