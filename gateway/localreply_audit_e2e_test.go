package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestLocalRepliesAudited: a refusal the embedded data plane makes itself,
// before or without the processor (a body past its buffer limit, a path
// that escapes its route), reaches no upstream and is one audit record,
// content-free, with its reason as the rule.
func TestLocalRepliesAudited(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"note","arguments":{"text":"` +
		strings.Repeat("a", 200<<10) + `"}}}`
	for _, tc := range []struct {
		name, raw string
		status    int
		rule, op  string
	}{
		{
			// No Content-Length: the processor cannot refuse it at header
			// time; the data plane's buffer (2 × max_body_bytes) does.
			name: "413 chunked body past the buffer limit",
			raw: "POST /mcp/up HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n" +
				"Mcp-Method: tools/call\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big),
			status: http.StatusRequestEntityTooLarge, rule: "dataplane:request-payload-too-large", op: "tools/call",
		},
		{
			name:   "400 path escape",
			raw:    "POST /mcp/up/../x HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n" + `{"jsonrpc":"2.0","id":1,"method":""}`,
			status: http.StatusBadRequest, rule: "dataplane:path-normalization-failed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newRecorder(t, func(w http.ResponseWriter, r *http.Request, body string) {
				jsonReply(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
			})
			env := startBypassEnv(t, up, "")
			addr := strings.TrimPrefix(env.base, "http://")
			resp, body, _, _ := rawExchange(t, addr, fmt.Sprintf(tc.raw, addr))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, `"error"`) || strings.Contains(body, "aaaa") {
				t.Errorf("client got %.300s, want a JSON-RPC error without the body", body)
			}
			if n := len(up.bodies()); n != 0 {
				t.Fatalf("the upstream received %d request(s)", n)
			}
			lines := env.audit(t)
			if len(lines) != 1 {
				t.Fatalf("%d audit records, want exactly 1: %+v", len(lines), lines)
			}
			l := lines[0]
			if l.Operation != tc.op || l.Plane != "request" || l.Decision != "block" || len(l.Rules) != 1 || l.Rules[0] != tc.rule {
				t.Fatalf("audit record %+v, want %q request/block with rule %s", l, tc.op, tc.rule)
			}
			if strings.Contains(readAll(t, env.auditDir), "aaaa") {
				t.Error("the audit log holds the refused body")
			}
		})
	}
}
