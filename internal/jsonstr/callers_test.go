package jsonstr_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
	"github.com/portcullis-mcp/portcullis/internal/jsonstr"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
)

// TestCallersAgree: the encoders the gateway's writers use (mcp error
// replies and notices, jsondoc edits, the decision log; the audit log is
// checked in package audit) produce the same bytes as jsonstr for one
// sample of every rune class, and those bytes are valid JSON.
func TestCallersAgree(t *testing.T) {
	samples := []string{"", "plain", `q"b\s`, "\b\f\n\r\t\x00\x1f\x7f", "<a href='x'>&</a>", "é€😀",
		"\u2028\u2029", "bad\xff\xe2\x82", "\xed\xa0\x80", "\ufeff\ufffd"}
	for _, s := range samples {
		want := jsonstr.Append(nil, s)
		if !json.Valid(want) {
			t.Fatalf("jsonstr.Append(%q) = %s: not valid JSON", s, want)
		}
		if got := mcp.AppendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("mcp.AppendJSONString(%q) = %s, want %s", s, got, want)
		}
		if got := jsondoc.AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("jsondoc.AppendString(%q) = %s, want %s", s, got, want)
		}
		reply := mcp.ErrorResponse("1", -32000, s, nil)
		if !json.Valid(reply) || !bytes.Contains(reply, append([]byte(`"message":`), want...)) {
			t.Errorf("mcp.ErrorResponse message %q: %s does not embed %s", s, reply, want)
		}
		var line bytes.Buffer
		if err := decisionlog.New(&line, decisionlog.LevelAll).Log(&decisionlog.Decision{Time: time.Unix(0, 0).UTC(), ID: s, Action: "allow"}); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(line.Bytes()) || !bytes.Contains(line.Bytes(), append([]byte(`"decision_id":`), want...)) {
			t.Errorf("decision log id %q: %s does not embed %s", s, line.Bytes(), want)
		}
	}
}
