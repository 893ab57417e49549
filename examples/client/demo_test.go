package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
)

// fakeGateway routes /mcp/<name> to in-process example servers. When block is
// set it answers tools/call of delete_* itself with a JSON-RPC error, the way
// Portcullis does, so the client's report can be tested without the gateway.
func fakeGateway(t *testing.T, block bool) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../files/sandbox")); err != nil {
		t.Fatal(err)
	}
	fh, closeRoot, err := filesmcp.Handler(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeRoot() })
	wh := webmcp.Handler()
	route := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if block && r.Method == http.MethodPost {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				var msg struct {
					ID     json.RawMessage `json:"id"`
					Method string          `json:"method"`
					Params struct {
						Name string `json:"name"`
					} `json:"params"`
				}
				if json.Unmarshal(body, &msg) == nil && msg.Method == "tools/call" && strings.HasPrefix(msg.Params.Name, "delete_") {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(msg.ID)+`,"error":{"code":-32001,"message":"tool \"`+msg.Params.Name+`\" is not allowed","data":{"decision_id":"dec-123","rule":"servers[0].tools.deny[1]"}}}`)
					return
				}
			}
			r.URL.Path = "/mcp"
			h.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp/files", route(fh))
	mux.Handle("/mcp/web", route(wh))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, dir
}

func TestDemo(t *testing.T) {
	tests := []struct {
		name      string
		block     bool
		wantErr   bool
		want      []string
		fileAfter bool
	}{
		{"gateway blocks delete", true, false, []string{
			"read_file notes.txt -> ALLOWED", `"Team sync, Monday"`,
			"delete_file notes.txt -> BLOCKED: tool \"delete_file\" is not allowed (JSON-RPC error -32001)",
			`data: {"decision_id":"dec-123","rule":"servers[0].tools.deny[1]"}`,
			"page still contains the hidden instruction", "OK: one allowed call",
		}, true},
		{"no gateway: delete goes through", false, true, []string{
			"delete_file notes.txt -> NOT BLOCKED",
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, dir := fakeGateway(t, tc.block)
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, []string{"-gateway", url + "/"}, &out, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("run error = %v, wantErr %v\n%s", err, tc.wantErr, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
			_, statErr := os.Stat(filepath.Join(dir, "notes.txt"))
			if (statErr == nil) != tc.fileAfter {
				t.Errorf("notes.txt exists = %v, want %v", statErr == nil, tc.fileAfter)
			}
		})
	}
}

func TestDemoUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-gateway", srv.URL, "-timeout", "5s"}, &out, io.Discard); err == nil {
		t.Fatalf("run against a closed port succeeded:\n%s", out.String())
	}
}
