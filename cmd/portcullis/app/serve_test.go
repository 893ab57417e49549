package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --log-level debug prints debug lines (the effective configuration and the
// started listeners); the default level does not.
func TestServeLogLevel(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "portcullis.yaml")
	if err := os.WriteFile(cfg, []byte("listen:\n  extproc: 127.0.0.1:0\nservers:\n  - name: files\n    url: http://127.0.0.1:1/mcp\n    tools: {allow: [\"*\"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		level     string
		wantDebug bool
	}{{"debug", true}, {"info", false}} {
		t.Run(tt.level, func(t *testing.T) {
			// A cancelled context: serve starts, sees the cancellation and
			// shuts down, so the test needs no timing.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out, errb bytes.Buffer
			if err := Main(ctx, []string{"serve", "--config", cfg, "--log-level", tt.level}, &out, &errb); err != nil {
				t.Fatalf("serve: %v\n%s", err, errb.String())
			}
			logs := errb.String()
			got := strings.Contains(logs, "level=DEBUG msg=\"configuration loaded\"") && strings.Contains(logs, "servers=[files]") &&
				strings.Contains(logs, "level=DEBUG msg=\"gateway started\"")
			if got != tt.wantDebug {
				t.Errorf("debug lines present = %v, want %v:\n%s", got, tt.wantDebug, logs)
			}
			if !strings.Contains(out.String(), "portcullis: shutting down") {
				t.Errorf("stdout: %s", out.String())
			}
		})
	}
}
