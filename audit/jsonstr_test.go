package audit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/portcullis-mcp/portcullis/internal/jsonstr"
)

// TestStringFieldsUseTheSharedEncoder: audit record fields are escaped by
// jsonstr, byte for byte, for one sample of every rune class.
func TestStringFieldsUseTheSharedEncoder(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "\b\f\n\r\t\x00\x1f\x7f", "<a>&</a>", "é€😀", "\u2028\u2029", "bad\xff\xe2\x82"} {
		got := appendStrField([]byte("{\"x\":1"), "k", s)
		want := append([]byte(`{"x":1,"k":`), jsonstr.Append(nil, s)...)
		if !bytes.Equal(got, want) {
			t.Errorf("appendStrField(%q) = %s, want %s", s, got, want)
		}
		if !json.Valid(append(got, '}')) {
			t.Errorf("appendStrField(%q) = %s: not valid JSON", s, got)
		}
	}
}
