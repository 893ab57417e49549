package mcp

import (
	"encoding/json"
	"strings"
	"testing"
)

var validateCases = []struct {
	name    string
	in      string
	wantErr string // substring; "" = valid
}{
	{"object", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, ""},
	{"nested", `{"a":{"b":[1,2,{"c":null}]},"d":"x"}`, ""},
	{"unicode", `{"k":"h\u00e9llo \ud83d\ude00 é"}`, ""},
	{"numbers", `[0,-1,1.5,2e10,-3.2E-4]`, ""},
	{"empty", ``, "empty body"},
	{"whitespace only", "  \n", "empty body"},
	{"trailing garbage", `{"a":1} x`, "unexpected data"},
	{"truncated", `{"a":`, "unexpected end"},
	{"bad literal", `{"a":tru}`, "invalid literal"},
	{"leading zero ok", `{"a":0}`, ""},
	{"bad number", `{"a":-}`, "invalid number"},
	{"dup top", `{"a":1,"a":2}`, "duplicate object key \"a\""},
	{"dup nested", `{"x":{"params":{"name":"safe","name":"evil"}}}`, "duplicate object key \"name\""},
	{"dup via escape", `{"name":"a","\u006eame":"b"}`, "duplicate object key \"name\""},
	{"dup in array elem", `[{"a":1},{"b":1,"b":2}]`, "duplicate object key"},
	{"same key in siblings ok", `[{"a":1},{"a":2}]`, ""},
	{"same key parent child ok", `{"a":{"a":1}}`, ""},
	{"dup many keys", `{` + manyKeys(40) + `,"k7":0}`, "duplicate object key \"k7\""},
	{"invalid utf8", "{\"a\":\"\xff\"}", "invalid UTF-8"},
	{"lone surrogate", `{"a":"\ud800"}`, "unpaired UTF-16 surrogate"},
	{"lone low surrogate", `{"a":"\udc00"}`, "unpaired UTF-16 surrogate"},
	{"control char", "{\"a\":\"x\ty\"}", "control character"},
	{"bad escape", `{"a":"\x"}`, "invalid escape"},
	{"key not string", `{a:1}`, "object key must be a string"},
	{"too deep", strings.Repeat("[", 11) + strings.Repeat("]", 11), "nesting deeper than the limit of 10"},
	{"at depth limit", strings.Repeat("[", 10) + strings.Repeat("]", 10), ""},
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + itoa(i) + `":1`)
	}
	return b.String()
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for i > 0 {
		s = string(rune('0'+i%10)) + s
		i /= 10
	}
	return s
}

func TestValidateJSON(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateJSON([]byte(tc.in), 10)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
			}
		})
	}
}

// FuzzValidateJSON cross-checks against encoding/json: anything we accept must
// be valid JSON to the standard library too.
func FuzzValidateJSON(f *testing.F) {
	for _, tc := range validateCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ValidateJSON(b, 64)
		if err == nil && !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
	})
}
