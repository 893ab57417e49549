package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// The demo against a real gateway with the quickstart policy: held, approved
// through the API, retried once, held again.
func TestDemoThroughGateway(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../files/sandbox")); err != nil {
		t.Fatal(err)
	}
	fh, closeRoot, err := filesmcp.Handler(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeRoot() })
	up := httptest.NewServer(fh)
	t.Cleanup(up.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - {name: files, url: "%s/mcp", tools: {allow: ["*"]}}
policy: {file: ../quickstart/policy.yaml}
approvals: {auth: {insecure_dev: true}}
`, up.URL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, "http://"+gw.ProxyAddr(), "http://"+gw.AdminAddr(), "tester", false, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"-> HELD (-32002): approval apr_", "console: http://" + gw.AdminAddr() + "/approvals/apr_", "tester approves it", "-> ALLOWED", "-> HELD again"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(dir + "/approved.txt"); err != nil || !strings.Contains(string(b), "approval") {
		t.Errorf("approved.txt: %q %v", b, err)
	}
}
