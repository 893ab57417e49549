package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// upstream wraps an example server and records every request it receives,
// so tests can assert that refused calls never reached it.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD jsonrpc-method tool"
	hits atomic.Int64
}

func newUpstream(t *testing.T, h http.Handler) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		var m struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		_ = json.Unmarshal(body, &m)
		u.mu.Lock()
		u.seen = append(u.seen, strings.TrimSpace(r.Method+" "+m.Method+" "+m.Params.Name))
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) saw(s string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.seen {
		if x == s {
			return true
		}
	}
	return false
}

type env struct {
	filesDir string
	gw       *gateway.Gateway
	files    *upstream
	web      *upstream
	base     string
}

func startEnv(t *testing.T, mutate func(*config.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../examples/files/sandbox")); err != nil {
		t.Fatal(err)
	}
	fh, closeRoot, err := filesmcp.Handler(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeRoot() })
	e := &env{filesDir: dir, files: newUpstream(t, fh), web: newUpstream(t, webmcp.Handler())}
	yaml := fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
limits: {max_body_bytes: 65536, max_depth: 32}
servers:
  - name: files
    url: %s/mcp
    tools: {allow: [list_dir, read_file], deny: [write_file, "delete_*"]}
  - name: web
    url: %s/mcp
    tools: {allow: ["*"]}
`, e.files.srv.URL, e.web.srv.URL)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(cfg)
	}
	e.gw, err = gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.gw.Close() })
	e.base = "http://" + e.gw.ProxyAddr()
	return e
}

func (e *env) connect(t *testing.T, server string) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e", Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: e.base + "/mcp/" + server}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", server, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func TestE2EToolsListFilteredAndCalls(t *testing.T) {
	e := startEnv(t, nil)
	cs := e.connect(t, "files")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range lt.Tools {
		names = append(names, tool.Name)
	}
	if strings.Join(names, ",") != "list_dir,read_file" {
		t.Fatalf("tools/list not filtered: %v", names)
	}

	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "notes.txt"}})
	if err != nil {
		t.Fatalf("allowed call failed: %v", err)
	}
	if res.IsError || len(res.Content) == 0 {
		t.Fatalf("allowed call returned an error result: %+v", res)
	}
	if !e.files.saw("POST tools/call read_file") {
		t.Fatal("upstream did not see the allowed call")
	}

	_, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "delete_file", Arguments: map[string]any{"path": "notes.txt"}})
	if err == nil {
		t.Fatal("blocked call succeeded")
	}
	for _, want := range []string{"delete_file", "not allowed"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	if e.files.saw("POST tools/call delete_file") {
		t.Fatal("upstream saw the blocked call")
	}
	if _, err := os.Stat(e.files.srv.URL); err == nil {
		t.Fatal("unexpected")
	}
}

func TestE2EBlockedCallCarriesDecisionData(t *testing.T) {
	e := startEnv(t, nil)
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"x","content":"y"}}}`
	status, resp := post(t, e.base+"/mcp/files", "application/json", body, nil)
	if status != 200 {
		t.Fatalf("status %d: %s", status, resp)
	}
	var m struct {
		ID    int
		Error struct {
			Code    int
			Message string
			Data    map[string]any
		}
	}
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatalf("%v: %s", err, resp)
	}
	if m.ID != 7 || m.Error.Code != -32001 || m.Error.Data["decision_id"] == "" || !strings.Contains(fmt.Sprint(m.Error.Data["rule"]), "tools.deny[0]") {
		t.Fatalf("unexpected refusal: %s", resp)
	}
	if e.files.hits.Load() != 0 {
		t.Fatal("upstream was invoked")
	}
}

func TestE2ESSEResultAndNotifications(t *testing.T) {
	e := startEnv(t, nil)
	cs := e.connect(t, "web")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{
		Name:      "crawl",
		Arguments: map[string]any{"url": webmcp.URLs()[0], "delay_ms": 1},
		Meta:      sdk.Meta{"progressToken": "p1"},
	})
	if err != nil {
		t.Fatalf("crawl through gateway: %v", err)
	}
	if res.IsError || res.StructuredContent == nil {
		t.Fatalf("crawl result: %+v", res)
	}
}

// post sends a raw HTTP request through the gateway.
func post(t *testing.T, url, ct, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestE2EBadInputNeverReachesUpstream(t *testing.T) {
	e := startEnv(t, nil)
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	cases := []struct {
		name     string
		path, ct string
		body     string
		hdr      map[string]string
		status   int
		code     int
		msg      string
	}{
		{"malformed json", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,`, nil, 400, -32700, "parse error"},
		{"invalid utf8", "/mcp/files", "application/json", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"read_file\",\"arguments\":{\"path\":\"\xff\"}}}", nil, 400, -32700, "invalid UTF-8"},
		{"duplicate keys", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","name":"delete_file"}}`, nil, 400, -32700, "duplicate object key"},
		{"duplicate nested keys", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"a","path":"../../etc/passwd"}}}`, nil, 400, -32700, "duplicate object key"},
		{"too deep", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":` + deep + `}}`, nil, 400, -32700, "nesting deeper"},
		{"too large", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", 70000) + `"}}`, nil, 413, -32600, "exceeds the gateway limit"},
		{"wrong content type", "/mcp/files", "text/plain", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil, 415, -32600, "must be application/json"},
		{"jsonrpc 1.0", "/mcp/files", "application/json", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, nil, 400, -32600, "unsupported JSON-RPC version"},
		{"batch in 2025-06-18", "/mcp/files", "application/json", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, map[string]string{"MCP-Protocol-Version": "2025-06-18"}, 400, -32600, "batches are not allowed"},
		{"unknown revision", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"MCP-Protocol-Version": "1999-01-01"}, 400, -32600, "unsupported MCP-Protocol-Version"},
		{"header mismatch 2026", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file"}}`, map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "read_file"}, 400, -32020, "header mismatch"},
		{"unknown server", "/mcp/nope", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil, 404, -32001, "not on this gateway's allow-list"},
		{"batch with blocked call", "/mcp/files", "application/json", `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_file"}}]`, nil, 200, 0, "not allowed"},
		{"dns rebinding host", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"Host": "evil.example.com"}, 403, -32600, "not allowed by listen.allowed_hosts"},
		{"foreign origin", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"Origin": "https://evil.example.com"}, 403, -32600, "not allowed by listen.allowed_hosts"},
		{"reserved route header", "/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"X-Portcullis-Route": "sandbox"}, 400, -32600, "reserved"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.files.hits.Load()
			status, resp := post(t, e.base+tc.path, tc.ct, tc.body, tc.hdr)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, resp)
			}
			if !json.Valid(resp) {
				t.Fatalf("response is not JSON: %s", resp)
			}
			if tc.code != 0 {
				var m struct{ Error struct{ Code int } }
				_ = json.Unmarshal(resp, &m)
				if m.Error.Code != tc.code {
					t.Fatalf("code %d, want %d: %s", m.Error.Code, tc.code, resp)
				}
			}
			if !strings.Contains(string(resp), tc.msg) {
				t.Fatalf("message lacks %q: %s", tc.msg, resp)
			}
			if e.files.hits.Load() != before {
				t.Fatal("upstream saw the request")
			}
		})
	}
}
