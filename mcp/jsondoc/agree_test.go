package jsondoc_test

import (
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
)

// FuzzAgreesWithValidateJSON: everything the gateway's validator accepts,
// the tokenizer accepts too (it is never stricter on syntax, UTF-8, depth or
// duplicates), so it can read any body the validator let through. The
// validator may be stricter (key-folding rules on protocol fields).
func FuzzAgreesWithValidateJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"\u0061":2}`, "\"\xff\"", `"\ud800"`, `[1,[2,[3]]]`, `{"a":"b","c":[true,null]}`, strings.Repeat("[", 9) + strings.Repeat("]", 9)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, err := jsondoc.Parse([]byte(in), jsondoc.Options{MaxDepth: 8})
		verr := mcp.ValidateJSON([]byte(in), 8)
		if verr == nil && err != nil {
			t.Fatalf("%q: ValidateJSON accepts, jsondoc refuses: %v", in, err)
		}
	})
}
