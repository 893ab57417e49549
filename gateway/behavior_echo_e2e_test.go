package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// Issue 10 "Behaviour": two send_email calls in a fresh session. The first
// result echoes the recipient the agent itself supplied; that is not
// sensitive data the agent learned, so the second call is not a
// sensitive-then-egress flow. A result carrying someone else's address
// still is.
func TestBehaviorEchoedArgumentIsNotSensitive(t *testing.T) {
	const pol = `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: echo, version: "1"}
spec:
  anonymous: {id: anonymous, trust: medium}
  servers:
    - {name: up, environment: dev, tools: [{name: "*", risk: 5}]}
  risk:
    weights: {action: 0, agent: 0, temporal: 0, environmental: 0, behavioral: 100, compliance: 0, data_sensitivity: 0}
    thresholds:
      - {name: low, min: 0, max: 100, action: allow}
  behavior:
    window: 1s
    warmup: 100
    egress_tools: [send_email]
    sensitive_categories: [pii, pci, secret]
    sequences: [{name: sensitive-then-egress, action: block}]
`
	up := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, body string) {
		id := idOf([]byte(body))
		switch {
		case strings.Contains(body, "lookup"):
			jsonReply(w, `{"jsonrpc":"2.0","id":`+id+`,"result":{"content":[{"type":"text","text":"carol.secret@example.org"}]}}`)
		default:
			jsonReply(w, `{"jsonrpc":"2.0","id":`+id+`,"result":{"content":[{"type":"text","text":"sent to bob@example.com"}]}}`)
		}
	})
	e := startBypassEnv(t, up, pol)
	hdr := map[string]string{"Mcp-Session-Id": "fresh"}
	send := func(id string) string {
		_, _, got := postRaw(t, e.base+"/mcp/up", `{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":{"name":"send_email","arguments":{"to":"bob@example.com","body":"hi"}}}`, hdr)
		return string(got)
	}
	for _, id := range []string{"1", "2"} {
		if got := send(id); !strings.Contains(got, "sent to") {
			t.Fatalf("send_email %s refused: %s", id, got)
		}
	}
	// Someone else's address in a result is new sensitive data.
	postRaw(t, e.base+"/mcp/up", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"lookup","arguments":{}}}`, hdr)
	if got := send("4"); !strings.Contains(got, "sensitive-then-egress") || strings.Contains(got, "→ allow") {
		// The refusal must not quote a risk band that said "allow".
		t.Fatalf("egress after a sensitive read not blocked, or explained with a contradiction: %s", got)
	}
	lines := e.audit(t)
	if !hasAudit(lines, "tools/call", "request", "block", "sequence:sensitive-then-egress") {
		t.Fatalf("block not audited: %+v", lines)
	}
}
