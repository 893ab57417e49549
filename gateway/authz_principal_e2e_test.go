package gateway_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthzPrincipalClientAndActorRecorded: the OAuth client (client_id)
// and the RFC 8693 delegation chain (act) of the validated token reach the
// audit record (OCSF actor.app_uid, unmapped delegation) and the decision
// log; a session id the client sends changes none of it.
func TestAuthzPrincipalClientAndActorRecorded(t *testing.T) {
	decisions := filepath.Join(t.TempDir(), "decisions.jsonl")
	e := startAuthzEnv(t, "log: {decisions: all, decisions_file: "+decisions+"}")
	claims := e.as.Claims("alice", e.base+"/mcp/web", "mcp")
	claims["iss"] = e.as.URL
	claims["client_id"] = "https://apps.example/ide.json"
	claims["act"] = map[string]any{"sub": "build-agent", "act": map[string]any{"sub": "ci-bot"}}
	tok := e.as.Mint(claims)

	// tools/call crawl lacks web:crawl: refused and audited with the principal.
	status, _, body := authPostSession(t, e.base+"/mcp/web", tok, "sess-of-mallory",
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"crawl","arguments":{"url":"https://example.com"}}}`)
	if status != 403 {
		t.Fatalf("crawl without scope: %d %s", status, body)
	}
	_ = e.gw.Close()
	log := readAll(t, e.auditDir)
	for _, want := range []string{`"app_uid":"https://apps.example/ide.json","user":{"uid":"alice"}`, `"delegation":["build-agent","ci-bot"]`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, `"uid":"sess-of-mallory"},"api"`) && !strings.Contains(log, `"user":{"uid":"alice"}`) {
		t.Error("the session id became the principal")
	}
	dl, err := os.ReadFile(decisions)
	if err != nil {
		t.Fatal(err)
	}
	want := `"principal":"alice","client_id":"https://apps.example/ide.json","actor":["build-agent","ci-bot"]`
	if !strings.Contains(string(dl), want) {
		t.Errorf("decision log lacks %s:\n%s", want, dl)
	}
}

// authPostSession is authPost with an Mcp-Session-Id header.
func authPostSession(t *testing.T, url, token, session, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
}
