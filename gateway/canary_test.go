package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestContentFreeCanaries pushes canary strings through arguments, results,
// errors and detector findings and asserts that none reaches the audit log,
// the logs (debug level), the spans or the metrics while audit.content is
// false (the default).
func TestContentFreeCanaries(t *testing.T) {
	const (
		argCanary    = "CANARY-ARG-91f2"
		resultCanary = "CANARY-RESULT-5d1e"
		errCanary    = "CANARY-ERR-77aa"
		piiCanary    = "canary-pii-3c9b@example.com"
	)
	canaries := []string{argCanary, resultCanary, errCanary, piiCanary}

	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../examples/files/sandbox")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "canary.txt"), []byte("line with "+resultCanary+" and mail "+piiCanary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fh, closeRoot, err := filesmcp.Handler(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeRoot() })
	files := newUpstream(t, fh)

	auditDir := filepath.Join(t.TempDir(), "audit")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - name: files
    url: %s/mcp
    tools: {allow: ["*"], deny: ["delete_*"]}
audit: {dir: %s}
`, files.srv.URL, auditDir)))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Telemetry: telemetry.New(telemetry.WithTracerProvider(tp)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	e := &env{gw: gw, files: files, base: "http://" + gw.ProxyAddr()}
	cs := e.connect(t, "files")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	calls := []sdk.CallToolParams{
		{Name: "read_file", Arguments: map[string]any{"path": "canary.txt"}},                          // result + PII finding
		{Name: "read_file", Arguments: map[string]any{"path": argCanary + "/missing.txt"}},            // argument, tool error echoing it
		{Name: "write_file", Arguments: map[string]any{"path": "o.txt", "content": piiCanary}},        // PII in arguments
		{Name: "read_file", Arguments: map[string]any{"path": "notes.txt", errCanary: true}},          // schema error naming the canary
		{Name: "delete_file", Arguments: map[string]any{"path": argCanary}},                           // refused by the trust plane
		{Name: "read_file", Arguments: map[string]any{"path": strings.Repeat(argCanary, 3) + ".txt"}}, // long argument
	}
	sawCanaryInResult := false
	for _, c := range calls {
		res, err := cs.CallTool(ctx, &c)
		if err == nil && res != nil {
			for _, ct := range res.Content {
				if tc, ok := ct.(*sdk.TextContent); ok && (strings.Contains(tc.Text, resultCanary) || strings.Contains(tc.Text, argCanary)) {
					sawCanaryInResult = true
				}
			}
		}
	}
	if !sawCanaryInResult {
		t.Fatal("the canaries never reached the client: the test would prove nothing")
	}
	_ = cs.Close()

	resp, err := http.Get("http://" + gw.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "portcullis_") {
		t.Fatalf("metrics endpoint has no portcullis metrics:\n%.400s", metrics)
	}
	_ = gw.Close()
	_ = tp.Shutdown(context.Background())

	var spans strings.Builder
	for _, s := range rec.Ended() {
		spans.WriteString(s.Name())
		for _, a := range s.Attributes() {
			fmt.Fprintf(&spans, " %s=%s", a.Key, a.Value.Emit())
		}
		for _, ev := range s.Events() {
			spans.WriteString(" " + ev.Name)
			for _, a := range ev.Attributes {
				fmt.Fprintf(&spans, " %s=%s", a.Key, a.Value.Emit())
			}
		}
		spans.WriteString(" " + s.Status().Description + "\n")
	}
	if len(rec.Ended()) == 0 {
		t.Fatal("no spans recorded")
	}
	for _, want := range []string{"mcp.method.name=tools/call", "gen_ai.operation.name=execute_tool", "gen_ai.tool.name=read_file", "jsonrpc.request.id=", "mcp.session.id=", "mcp.protocol.version="} {
		if !strings.Contains(spans.String(), want) {
			t.Errorf("spans lack %s:\n%s", want, spans.String())
		}
	}
	auditText := readAll(t, auditDir)
	if !strings.Contains(auditText, "read_file") {
		t.Fatal("audit log holds no tool call records")
	}
	outputs := map[string]string{"audit log": auditText, "logs": logs.String(), "spans": spans.String(), "metrics": string(metrics)}
	for name, out := range outputs {
		for _, c := range canaries {
			if strings.Contains(out, c) {
				t.Errorf("canary %q leaked into %s", c, name)
			}
		}
	}
}

func TestTraceContextPropagated(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	files := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`)
	}))
	cfg, err := config.Parse([]byte(fmt.Sprintf("listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}\nservers:\n  - name: files\n    url: %s/mcp\n    tools: {allow: [\"*\"]}\n", files.srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{Telemetry: telemetry.New(telemetry.WithTracerProvider(tp))})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	status, body := post(t, "http://"+gw.ProxyAddr()+"/mcp/files", "application/json",
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"a"}}}`,
		map[string]string{"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	_ = gw.Close()
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1 per tool call", len(spans))
	}
	if got := spans[0].SpanContext().TraceID().String(); got != traceID {
		t.Fatalf("span trace id %s, want the incoming %s", got, traceID)
	}
	if spans[0].Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("span parent %s", spans[0].Parent().SpanID())
	}
}

func TestOTLPTraceExport(t *testing.T) {
	var mu sync.Mutex
	got := 0
	collector := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			got++
			mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	files := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`)
	}))
	cfg, err := config.Parse([]byte(fmt.Sprintf("listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}\nservers: [{name: files, url: %s/mcp, tools: {allow: [\"*\"]}}]\ntelemetry: {otlp_traces_url: %s/v1/traces}\n", files.srv.URL, collector.srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	status, body := post(t, "http://"+gw.ProxyAddr()+"/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`, nil)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	_ = gw.Close() // flushes the batch span processor
	mu.Lock()
	defer mu.Unlock()
	if got == 0 {
		t.Fatal("no OTLP trace export reached the collector")
	}
}
