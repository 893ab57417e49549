package jsondoc_test

import (
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
)

// FuzzAgreesWithValidateJSON: the tokenizer accepts exactly what the
// gateway's validator accepts, so it can take over validation in one pass.
func FuzzAgreesWithValidateJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"\u0061":2}`, "\"\xff\"", `"\ud800"`, `[1,[2,[3]]]`, `{"a":"b","c":[true,null]}`, strings.Repeat("[", 9) + strings.Repeat("]", 9)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, err := jsondoc.Parse([]byte(in), jsondoc.Options{MaxDepth: 8})
		verr := mcp.ValidateJSON([]byte(in), 8)
		if (err == nil) != (verr == nil) {
			t.Fatalf("%q: jsondoc %v, ValidateJSON %v", in, err, verr)
		}
	})
}
