package gateway_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
)

func resultText(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestResultPlaneBuiltinRules: without a policy file, injection in a fetched
// page is replaced by a notice, and PII in results is masked with surrogates
// that a later call's arguments turn back into the originals before the
// server sees them.
func TestResultPlaneBuiltinRules(t *testing.T) {
	var sandboxDir string
	e := startEnv(t, func(c *config.Config) {
		for i := range c.Servers {
			if c.Servers[i].Name == "files" {
				c.Servers[i].Tools = config.ToolRules{Allow: []string{"*"}}
			}
		}
	})
	cs := e.connect(t, "files")
	web := e.connect(t, "web")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	res, err := web.CallTool(ctx, &sdk.CallToolParams{Name: "fetch", Arguments: map[string]any{"url": webmcp.InjectedURL}})
	if err != nil || res.IsError {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	page := resultText(res)
	if strings.Contains(strings.ToLower(page), "ignore previous instructions") || !strings.Contains(page, "[portcullis] content removed") {
		t.Fatalf("injected page reached the model: %.300s", page)
	}
	res, err = web.CallTool(ctx, &sdk.CallToolParams{Name: "fetch", Arguments: map[string]any{"url": webmcp.URLs()[0]}})
	if err != nil || res.IsError || strings.Contains(resultText(res), "content removed") {
		t.Fatalf("clean page was altered: %v %.200s", err, resultText(res))
	}

	res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "customers.csv"}})
	if err != nil || res.IsError {
		t.Fatalf("read customers: %v %+v", err, res)
	}
	text := resultText(res)
	if strings.Contains(text, "4111 1111 1111 1111") || strings.Contains(text, "alice.example@example.com") {
		t.Fatalf("PII reached the model: %.300s", text)
	}
	surrogate := regexp.MustCompile(`\[EMAIL_\d+\]`).FindString(text)
	if surrogate == "" {
		t.Fatalf("no email surrogate in %.300s", text)
	}
	// The model uses the surrogate; the tool must receive the real address.
	res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "reply.txt", "content": "to: " + surrogate}})
	if err != nil || res.IsError {
		t.Fatalf("write_file: %v %+v", err, res)
	}
	sandboxDir = e.filesDir
	got, err := os.ReadFile(filepath.Join(sandboxDir, "reply.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), surrogate) || !strings.Contains(string(got), "@example.com") {
		t.Fatalf("surrogate was not restored for the tool: %q", got)
	}
}
