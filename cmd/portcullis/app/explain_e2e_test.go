package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// explain finds a decision the running gateway made: the id the client got
// in the refusal's data leads to the audit record of that refusal.
func TestExplainARealRefusal(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`)
	}))
	defer upstream.Close()
	auditDir := filepath.Join(t.TempDir(), "audit")
	cfg, err := config.Parse([]byte(fmt.Sprintf("listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}\nservers: [{name: files, url: %s/mcp, tools: {allow: [\"read_*\"]}}]\naudit: {dir: %s}\n", upstream.URL, auditDir)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", "http://"+gw.ProxyAddr()+"/mcp/files",
		strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete_file","arguments":{"path":"SECRET-ARGUMENT"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var refusal struct {
		Error struct {
			Data struct {
				DecisionID string `json:"decision_id"`
				Rule       string `json:"rule"`
			} `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &refusal); err != nil || refusal.Error.Data.DecisionID == "" {
		t.Fatalf("refusal without a decision id: %s (%v)", body, err)
	}
	if err := gw.Close(); err != nil { // flushes the audit log
		t.Fatal(err)
	}
	id := refusal.Error.Data.DecisionID
	code, out, _, err := run(t, "explain", id, "--audit-dir", auditDir)
	if code != 0 {
		t.Fatalf("explain exit %d: %v", code, err)
	}
	for _, want := range []string{id, "tools/call files/delete_file", "outcome", "block", refusal.Error.Data.Rule} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET-ARGUMENT") {
		t.Errorf("explain printed argument content:\n%s", out)
	}
}
