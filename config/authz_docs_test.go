package config

import (
	"os"
	"strings"
	"testing"
)

// TestAuthorizationDocExample keeps docs/authorization.md true: its
// configuration example must parse and validate as written.
func TestAuthorizationDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/authorization.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Configuration\n\n```yaml\n")
	if !ok {
		t.Fatal("docs/authorization.md has no ## Configuration yaml block")
	}
	example, _, _ := strings.Cut(rest, "```")
	t.Setenv("PORTCULLIS_DELEGATION_KEY", strings.Repeat("0f", 32)) // the example reads its sealing key from here
	cfg := "listen: {proxy: 127.0.0.1:0, allowed_hosts: [mcp.example.com]}\n" + example
	c, err := Parse([]byte(cfg))
	if err != nil {
		t.Fatalf("the documented example does not validate:\n%v", err)
	}
	if c.Identity.OAuth == nil || len(c.Servers) == 0 || c.Servers[0].UpstreamAuth == nil {
		t.Fatal("example lost its identity.oauth or upstream_auth")
	}
}
