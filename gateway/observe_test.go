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
	"testing"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/audit/telemetry/telemetrytest"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// The example dashboard and alert rules match the live /metrics of a running
// gateway: every metric and selector label they use is served.
func TestDashboardAgainstLiveMetrics(t *testing.T) {
	files := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"mail bob@example.com"}]}}`)
	}))
	cfg, err := config.Parse([]byte(fmt.Sprintf("listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}\nservers: [{name: files, url: %s/mcp, tools: {allow: [\"read_*\"], deny: [\"delete_file\"]}}]\naudit: {dir: %s}\n",
		files.srv.URL, filepath.Join(t.TempDir(), "audit"))))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	// Real traffic: one allowed call, one refused (tool not allowed).
	for _, tool := range []string{"read_file", "delete_file"} {
		status, body := post(t, "http://"+gw.ProxyAddr()+"/mcp/files", "application/json",
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tool+`","arguments":{}}}`, nil)
		if status != 200 {
			t.Fatalf("%s: %d %s", tool, status, body)
		}
	}
	// Callers not wired into the decision path yet (ObserveDecision,
	// approvals, sink deliveries) feed the gateway's registry directly.
	telemetrytest.ExerciseAll(gw.Telemetry())
	gw.Telemetry().ObserveDecision(&decisionlog.Decision{Server: "files", Tool: "delete_file", Action: "block", Rule: "servers.files.tools.deny[0]=delete_file"})

	resp, err := http.Get("http://" + gw.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	fams, err := telemetrytest.ParseExposition(string(body))
	if err != nil {
		t.Fatal(err)
	}
	// A tool the configuration names is counted under its name even when
	// refused (declared at start from servers[].tools).
	if !strings.Contains(string(body), telemetry.MetricToolCalls+`{action="block",server="files",tool="delete_file"}`) {
		t.Errorf("declared tool not counted by name:\n%s", grepLines(string(body), telemetry.MetricToolCalls))
	}
	// The traffic itself produced decision metrics for the files server.
	if !strings.Contains(string(body), telemetry.MetricDecisions+`{decision="allow",plane="request",server="files"}`) {
		t.Errorf("no decision counted for the allowed call:\n%s", grepLines(string(body), telemetry.MetricDecisions))
	}
	refs, err := telemetrytest.Refs("../examples/observability")
	if err != nil {
		t.Fatal(err)
	}
	if err := telemetrytest.Check(refs, fams); err != nil {
		t.Errorf("dashboard/alerts drifted from the live /metrics:\n%v", err)
	}
}

// A reload applies a telemetry change; one it cannot apply is logged with
// the reason and the previous exporter keeps running.
func TestReloadAppliesTelemetry(t *testing.T) {
	dir := t.TempDir()
	base := "listen: {extproc: 127.0.0.1:0}\nservers: [{name: files, url: http://127.0.0.1:1/mcp, tools: {allow: [\"*\"]}}]\n"
	parse := func(extra string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(base + extra))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var logs bytes.Buffer
	gw, err := gateway.Start(context.Background(), parse(""), gateway.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	if got := gw.Telemetry().TraceExporter(); got != telemetry.ExporterNone {
		t.Fatalf("exporter %q, want none", got)
	}
	spans := filepath.Join(dir, "spans.jsonl")
	if err := gw.Reload(parse("telemetry: {exporter: file, file: " + spans + "}\n")); err != nil {
		t.Fatal(err)
	}
	if got := gw.Telemetry().TraceExporter(); got != telemetry.ExporterFile {
		t.Fatalf("after reload exporter %q, want file; logs:\n%s", got, logs.String())
	}
	if _, err := os.Stat(spans); err != nil {
		t.Errorf("span file not created: %v", err)
	}
	// Unwritable file: the reload of the rest succeeds, telemetry says why not.
	bad := filepath.Join(dir, "missing", "spans.jsonl")
	if err := gw.Reload(parse("telemetry: {exporter: file, file: " + bad + "}\n")); err != nil {
		t.Fatal(err)
	}
	if got := gw.Telemetry().TraceExporter(); got != telemetry.ExporterFile {
		t.Errorf("exporter %q after a failed telemetry change, want the previous file exporter", got)
	}
	if l := logs.String(); !strings.Contains(l, "telemetry change not applied") || !strings.Contains(l, "missing/spans.jsonl") {
		t.Errorf("no precise log line for the failed telemetry change:\n%s", l)
	}
}
