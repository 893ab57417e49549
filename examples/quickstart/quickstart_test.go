package quickstart

import (
	"slices"
	"testing"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/policy"
)

func TestQuickstartConfigLoads(t *testing.T) {
	c, err := config.Load("portcullis.yaml")
	if err != nil {
		t.Fatalf("quickstart config does not load: %v", err)
	}
	if c.Listen.Proxy != "127.0.0.1:10000" || c.Listen.ExtProc != "127.0.0.1:50051" || c.Listen.Admin != "127.0.0.1:9090" {
		t.Errorf("listen = %+v", c.Listen)
	}
	files, ok := c.Server("files")
	if !ok || files.URL != "http://127.0.0.1:3001/mcp" {
		t.Fatalf("files server = %+v, %v", files, ok)
	}
	if !slices.Equal(files.Tools.Allow, []string{"*"}) || !slices.Contains(files.Tools.Deny, "delete_*") {
		t.Errorf("files tools = %+v", files.Tools)
	}
	web, ok := c.Server("web")
	if !ok || web.URL != "http://127.0.0.1:3002/mcp" || web.Sandbox != "http://127.0.0.1:3003/mcp" || !slices.Equal(web.Tools.Allow, []string{"*"}) {
		t.Errorf("web server = %+v, %v", web, ok)
	}
	if c.Policy.File != "examples/quickstart/policy.yaml" || c.Audit.Dir == "" {
		t.Errorf("policy %+v audit %+v", c.Policy, c.Audit)
	}
	if _, err := policy.Load("policy.yaml"); err != nil {
		t.Errorf("quickstart policy: %v", err)
	}
}
