package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
)

const agentsPolicy = `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: agents, version: "%s"}
spec:
  anonymous: {id: anonymous, trust: low}
  servers:
    - name: files
      environment: dev
      tools: [{name: read_file, risk: 5}, {name: list_dir, risk: 5}, {name: write_file, risk: 10}]
  rules:
    - {name: writers, action: allow, from: {agents: [alice]}, to: {tools: [write_file]}}
%s  risk: {thresholds: [{name: all, min: 0, max: 100, action: allow}]}
`

type headerRT struct{ agent string }

func (h headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Portcullis-Agent", h.agent)
	return http.DefaultTransport.RoundTrip(r)
}

func connectAs(t *testing.T, base, server, agent string) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e-" + agent, Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: base + "/mcp/" + server, HTTPClient: &http.Client{Transport: headerRT{agent}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *sdk.ClientSession) []string {
	t.Helper()
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, tool := range lt.Tools {
		n = append(n, tool.Name)
	}
	slices.Sort(n)
	return n
}

// TestPerAgentToolsAndHotReload: tools/list is filtered per agent (capability
// creep is invisible), and a policy reload through the admin endpoint takes
// effect without a restart, while a bad policy keeps the old one running.
func TestPerAgentToolsAndHotReload(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../examples/files/sandbox")); err != nil {
		t.Fatal(err)
	}
	fh, closeRoot, err := filesmcp.Handler(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeRoot() })
	files := newUpstream(t, fh)
	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(version, extra string) {
		if err := os.WriteFile(policyPath, []byte(fmt.Sprintf(agentsPolicy, version, extra)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1", "")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers: [{name: files, url: %s/mcp, tools: {allow: ["*"]}}]
identity: {header: {name: x-portcullis-agent, trust: medium}}
policy: {file: %s, watch: 1h}
`, files.srv.URL, policyPath)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	base := "http://" + gw.ProxyAddr()

	alice, bob := connectAs(t, base, "files", "alice"), connectAs(t, base, "files", "bob")
	if got := toolNames(t, alice); !slices.Equal(got, []string{"list_dir", "read_file", "write_file"}) {
		t.Fatalf("alice sees %v", got)
	}
	if got := toolNames(t, bob); !slices.Equal(got, []string{"list_dir", "read_file"}) {
		t.Fatalf("bob sees %v (write_file must be invisible)", got)
	}
	ctx := context.Background()
	if _, err := bob.CallTool(ctx, &sdk.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "b.txt", "content": "x"}}); err == nil {
		t.Fatal("bob wrote a file")
	}
	if res, err := alice.CallTool(ctx, &sdk.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "a.txt", "content": "x"}}); err != nil || res.IsError {
		t.Fatalf("alice could not write: %v %+v", err, res)
	}

	reload := func() (int, string) {
		resp, err := http.Post("http://"+gw.AdminAddr()+"/admin/reload", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Version 2 denies read_file to everyone.
	write("2", "    - {name: no-reads, action: deny, to: {tools: [read_file]}}\n")
	if code, body := reload(); code != 200 || !strings.Contains(body, "policy 2+sha256:") {
		t.Fatalf("reload: %d %s", code, body)
	}
	if _, err := alice.CallTool(ctx, &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "notes.txt"}}); err == nil || !strings.Contains(err.Error(), "no-reads") {
		t.Fatalf("reloaded policy not applied: %v", err)
	}
	// A broken policy is refused and version 2 keeps running.
	write("3", "    - {name: broken, action: explode}\n")
	if code, body := reload(); code != 422 || !strings.Contains(body, `unknown action "explode"`) {
		t.Fatalf("bad policy reload: %d %s", code, body)
	}
	if !strings.HasPrefix(gw.PolicyVersion(), "2+sha256:") {
		t.Fatalf("active policy %q after a failed reload", gw.PolicyVersion())
	}
	resp, err := http.Get("http://" + gw.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `portcullis_policy_reloads_total{result="error"} 1`) {
		t.Fatalf("reload failure not counted:\n%s", grepLines(string(m), "reload"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
