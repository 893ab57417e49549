package approval_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
)

var canonicalCases = []struct {
	in, want, err string
}{
	{``, `{}`, ""},
	{`null`, `{}`, ""},
	{`{}`, `{}`, ""},
	{` { "b" : 1 , "a" : [ true , null , "x" ] } `, `{"a":[true,null,"x"],"b":1}`, ""},
	{`{"n":1.0,"m":1e2,"k":-0,"j":0.000001,"i":1e-7,"h":1e21,"g":123456789012345680000}`, `{"g":123456789012345680000,"h":1e+21,"i":1e-7,"j":0.000001,"k":0,"m":100,"n":1}`, ""},
	{`{"s":"\u00e9\n\"\\\/\u0001"}`, "{\"s\":\"é\\n\\\"\\\\/\\u0001\"}", ""},
	{`{"\u20ac":1,"\ud83d\ude00":2,"a":3}`, "{\"a\":3,\"€\":1,\"😀\":2}", ""}, // UTF-16 order: € (20AC) < 😀 (D83D)
	{`{"a":{"z":1,"y":{"x":[{"b":1,"a":2}]}}}`, `{"a":{"y":{"x":[{"a":2,"b":1}]},"z":1}}`, ""},
	{`{"a":1,"a":2}`, "", "duplicate key"},
	{`{"a":{"b":1,"b":1}}`, "", "duplicate key"},
	{`{"a":1} {}`, "", "trailing"},
	{`{"a":1e999}`, "", "out of range"},
	{"{\"a\":\"\xff\"}", "", "UTF-8"},
	{`{"a":`, "", "canonical json"},
}

func TestCanonical(t *testing.T) {
	for _, tc := range canonicalCases {
		got, err := approval.Canonical([]byte(tc.in))
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, string(got), tc.in)
		d1, err := approval.CanonicalDigest([]byte(tc.in))
		require.NoError(t, err)
		d2, err := approval.CanonicalDigest(got)
		require.NoError(t, err)
		require.Equal(t, d1, d2, "canonical form is a fixed point")
		require.Regexp(t, `^sha256:[0-9a-f]{64}$`, d1)
	}
}

func FuzzCanonical(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := approval.Canonical(in)
		if err != nil {
			return
		}
		again, err := approval.Canonical(c)
		if err != nil {
			t.Fatalf("canonical output does not re-parse: %q -> %q: %v", in, c, err)
		}
		if string(again) != string(c) {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, c, again)
		}
	})
}
