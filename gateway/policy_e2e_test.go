package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
)

type policyEnv struct {
	env
	sandbox  *upstream
	auditDir string
}

// startPolicyEnv runs the quickstart policy (examples/quickstart/policy.yaml)
// with a sandbox upstream and the audit log on.
func startPolicyEnv(t *testing.T) *policyEnv {
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
	e := &policyEnv{env: env{files: newUpstream(t, fh), web: newUpstream(t, webmcp.Handler())},
		sandbox: newUpstream(t, webmcp.HandlerInstance("sandbox", true)), auditDir: filepath.Join(t.TempDir(), "audit")}
	yaml := fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - name: files
    url: %s/mcp
    tools: {allow: ["*"], deny: ["delete_*"]}
  - name: web
    url: %s/mcp
    sandbox: %s/mcp
    tools: {allow: ["*"]}
policy: {file: ../examples/quickstart/policy.yaml}
audit: {dir: %s, commit: {interval: 5ms}}
# None of these tests is about the message timeout: the 5 s default turned a
# 3.9 MB request into a 504 when -race ran on a loaded machine.
limits: {message_timeout: 120s}
`, e.files.srv.URL, e.web.srv.URL, e.sandbox.srv.URL, e.auditDir)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e.gw, err = gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.gw.Close() })
	e.base = "http://" + e.gw.ProxyAddr()
	return e
}

func rpcError(t *testing.T, err error) *jsonrpc.Error {
	t.Helper()
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) {
		t.Fatalf("want a JSON-RPC error, got %v", err)
	}
	return werr
}

func errData(t *testing.T, werr *jsonrpc.Error) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(werr.Data, &m); err != nil {
		t.Fatalf("error data %s: %v", werr.Data, err)
	}
	return m
}

func TestPolicyQuickstartDecisions(t *testing.T) {
	e := startPolicyEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	files := e.connect(t, "files")
	web := e.connect(t, "web")

	var blockedID string
	t.Run("allow", func(t *testing.T) {
		res, err := files.CallTool(ctx, &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "notes.txt"}})
		if err != nil || res.IsError {
			t.Fatalf("read_file: %v %+v", err, res)
		}
	})
	t.Run("block by argument constraint", func(t *testing.T) {
		_, err := files.CallTool(ctx, &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "../../etc/passwd"}})
		werr := rpcError(t, err)
		d := errData(t, werr)
		blockedID, _ = d["decision_id"].(string)
		if werr.Code != -32001 || d["rule"] != "files-stay-in-sandbox" || !strings.HasPrefix(fmt.Sprint(d["policy_version"]), "2026-11-24.1+sha256:") || d["decision_id"] == "" || d["score"] == nil {
			t.Fatalf("unexpected refusal %d %s", werr.Code, werr.Data)
		}
		if e.files.saw("POST tools/call read_file") && strings.Contains(fmt.Sprint(e.files.seen), "passwd") {
			t.Fatal("upstream saw the blocked call")
		}
	})
	t.Run("require approval", func(t *testing.T) {
		_, err := files.CallTool(ctx, &sdk.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "out.txt", "content": "hi"}})
		werr := rpcError(t, err)
		d := errData(t, werr)
		if werr.Code != -32002 || d["approval_id"] == "" || d["status"] != "pending" || d["rule"] != "writes-need-approval" {
			t.Fatalf("unexpected refusal %d %s", werr.Code, werr.Data)
		}
		if e.files.saw("POST tools/call write_file") {
			t.Fatal("upstream executed a call awaiting approval")
		}
	})
	t.Run("sandbox", func(t *testing.T) {
		res, err := web.CallTool(ctx, &sdk.CallToolParams{Name: "crawl", Arguments: map[string]any{"url": webmcp.URLs()[0], "delay_ms": 1}})
		if err != nil || res.IsError {
			t.Fatalf("crawl: %v %+v", err, res)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if !strings.Contains(string(b), `"instance":"sandbox"`) {
			t.Fatalf("crawl did not run in the sandbox: %s", b)
		}
		if !e.sandbox.saw("POST tools/call crawl") || e.web.saw("POST tools/call crawl") {
			t.Fatal("crawl was not re-routed to the sandbox upstream only")
		}
	})
	t.Run("dry-run lets the call through", func(t *testing.T) {
		before := e.web.hits.Load()
		_, err := web.CallTool(ctx, &sdk.CallToolParams{Name: "fetch", Arguments: map[string]any{"url": "https://example.org/"}})
		if err != nil {
			if werr, ok := err.(*jsonrpc.Error); ok && werr.Code == -32001 {
				t.Fatalf("dry-run rule blocked: %v", err)
			}
		}
		if e.web.hits.Load() == before {
			t.Fatal("dry-run call did not reach the upstream")
		}
	})

	// The audit log holds every decision, verifies, and names the dry-run.
	_ = files.Close()
	_ = web.Close()
	_ = e.gw.Close()
	rep, err := audit.Verify(e.auditDir, nil)
	if err != nil || !rep.Valid() {
		t.Fatalf("audit verify: %v %+v", err, rep)
	}
	all := readAll(t, e.auditDir)
	for _, want := range []string{"files-stay-in-sandbox", "writes-need-approval", "crawl-in-sandbox", "fetch-only-example-com"} {
		if !strings.Contains(all, want) {
			t.Errorf("audit log lacks rule %s", want)
		}
	}
	if blockedID == "" || !strings.Contains(all, `"decision_id":"`+blockedID+`"`) {
		t.Errorf("the refusal's decision id %q is not in the audit log", blockedID)
	}
	if strings.Contains(all, "passwd") {
		t.Error("content-free audit log contains argument content")
	}
}

func readAll(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		data, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// A 2025-03-26 batch is forwarded whole or not at all: one policy refusal
// refuses every call in it, none reaches the upstream, and the audit log
// records the allowed call as blocked with the reason.
func TestPolicyBatchRefusedWhole(t *testing.T) {
	e := startPolicyEnv(t)
	before := e.files.hits.Load()
	status, body := post(t, e.base+"/mcp/files", "application/json",
		`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"notes.txt"}}},`+
			`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"../etc/passwd"}}}]`,
		map[string]string{"MCP-Protocol-Version": "2025-03-26"})
	if status != 200 || !strings.Contains(string(body), "files-stay-in-sandbox") || !strings.Contains(string(body), "batch refused") {
		t.Fatalf("batch not refused whole: %d %s", status, body)
	}
	if e.files.hits.Load() != before {
		t.Fatal("part of a refused batch reached the upstream")
	}
	_ = e.gw.Close()
	if all := readAll(t, e.auditDir); !strings.Contains(all, "batch-refused") {
		t.Fatal("the allowed call of the refused batch is not recorded as refused")
	}
}
