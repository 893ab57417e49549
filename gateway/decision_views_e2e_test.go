package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// auditView is the part of an audit record the views are compared on.
type auditView struct {
	Risk     int `json:"risk_score"`
	Unmapped struct {
		P struct {
			DecisionID string `json:"decision_id"`
			Plane      string `json:"plane"`
			Decision   string `json:"decision"`
			WouldBe    string `json:"would_be"`
			Rules      []string
			Factors    []struct {
				Name  string `json:"name"`
				Score int    `json:"score"`
			} `json:"risk_factors"`
		} `json:"portcullis"`
	} `json:"unmapped"`
}

// One decision, four views: a blocked, an approval-required, a dry-run and a
// redacted call each appear in the decision log, the audit log and the span
// (and, when refused, the refusal's data) with the same decision id, score
// and factors, the reasons where the view has room for them, and no content.
func TestDecisionViewsAgree(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "sandbox"), os.DirFS("../examples/files/sandbox")); err != nil {
		t.Fatal(err)
	}
	fh, closeRoot, err := filesmcp.Handler(filepath.Join(dir, "sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeRoot() })
	files, web, sandbox := newUpstream(t, fh), newUpstream(t, webmcp.Handler()), newUpstream(t, webmcp.HandlerInstance("sandbox", true))
	auditDir, dlogPath := filepath.Join(dir, "audit"), filepath.Join(dir, "decisions.jsonl")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}
servers:
  - {name: files, url: %s/mcp, tools: {allow: ["*"], deny: ["delete_*"]}}
  - {name: web, url: %s/mcp, sandbox: %s/mcp, tools: {allow: ["*"]}}
policy: {file: ../examples/quickstart/policy.yaml}
audit: {dir: %s}
log: {decisions: all, decisions_file: %s}
`, files.srv.URL, web.srv.URL, sandbox.srv.URL, auditDir, dlogPath)))
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tel := telemetry.New(telemetry.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))))
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{Telemetry: tel})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{gw: gw, base: "http://" + gw.ProxyAddr()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fs, ws := e.connect(t, "files"), e.connect(t, "web")

	refused := map[string]map[string]any{} // decision id -> refusal data
	_, err = fs.CallTool(ctx, &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "../../etc/passwd"}})
	d := errData(t, rpcError(t, err))
	refused[d["decision_id"].(string)] = d
	_, err = fs.CallTool(ctx, &sdk.CallToolParams{Name: "write_file", Arguments: map[string]any{"path": "out.txt", "content": "CONTENT-CANARY"}})
	d = errData(t, rpcError(t, err))
	refused[d["decision_id"].(string)] = d
	_, _ = ws.CallTool(ctx, &sdk.CallToolParams{Name: "fetch", Arguments: map[string]any{"url": "https://example.org/ARG-CANARY"}})
	if _, err := fs.CallTool(ctx, &sdk.CallToolParams{Name: "read_file", Arguments: map[string]any{"path": "customers.csv"}}); err != nil {
		t.Fatal(err)
	}
	_ = fs.Close()
	_ = ws.Close()
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}

	// Decision log lines by id.
	logText, err := os.ReadFile(dlogPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]decisionlog.Decision{}
	sc := bufio.NewScanner(bytes.NewReader(logText))
	for sc.Scan() {
		dl, err := decisionlog.Parse(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		lines[dl.ID] = dl
	}
	// Audit records by id.
	records := map[string]auditView{}
	segs, _ := filepath.Glob(filepath.Join(auditDir, "seg-*.jsonl"))
	var auditText strings.Builder
	for _, s := range segs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		auditText.Write(b)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var ln struct {
				Rec auditView `json:"rec"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ln); err != nil {
				t.Fatal(err)
			}
			if id := ln.Rec.Unmapped.P.DecisionID; id != "" {
				records[id] = ln.Rec
			}
		}
	}
	// Span attributes by decision id.
	spanAttrs := map[string]map[string]string{}
	var spanText strings.Builder
	// Every decision is a span event (a call decided on both planes keeps
	// both); the attributes hold the last one.
	for _, s := range spans.Ended() {
		for _, kv := range s.Attributes() {
			spanText.WriteString(kv.Value.Emit() + "\n")
		}
		for _, ev := range s.Events() {
			if ev.Name != telemetry.EventDecision {
				continue
			}
			attrs := map[string]string{}
			for _, kv := range ev.Attributes {
				attrs[string(kv.Key)] = kv.Value.Emit()
				spanText.WriteString(kv.Value.Emit() + "\n")
			}
			spanAttrs[attrs[telemetry.AttrDecisionID]] = attrs
		}
	}

	find := func(tool, plane, action, would string) decisionlog.Decision {
		t.Helper()
		for _, l := range lines {
			if l.Method == "tools/call" && l.Tool == tool && l.Plane == plane && l.Action == action && l.WouldAction == would {
				return l
			}
		}
		t.Fatalf("no decision log line for %s %s %s/%s in:\n%s", tool, plane, action, would, logText)
		return decisionlog.Decision{}
	}
	cases := []struct {
		name       string
		line       decisionlog.Decision
		audit      string // the audit record's decision
		wantSpan   bool
		wantRefuse bool
	}{
		{"blocked", find("read_file", "request", "block", "block"), "block", true, true},
		{"approval required", find("write_file", "request", "require_approval", "require_approval"), "approval", true, true},
		{"dry run", find("fetch", "request", "allow", "block"), "dry_run", true, false},
		{"redacted", find("read_file", "result", "redact", "redact"), "redact", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := c.line
			if len(l.Factors) == 0 {
				t.Fatal("decision log line without factors")
			}
			for _, f := range l.Factors {
				if f.Reason == "" || f.Weight < 0 {
					t.Errorf("factor %+v without reason", f)
				}
			}
			rec, ok := records[l.ID]
			if !ok {
				t.Fatalf("no audit record for decision %s", l.ID)
			}
			if rec.Unmapped.P.Decision != c.audit || rec.Risk != l.Score || len(rec.Unmapped.P.Factors) != len(l.Factors) {
				t.Errorf("audit %+v disagrees with the decision log %+v", rec, l)
			}
			for i, f := range rec.Unmapped.P.Factors {
				if f.Name != l.Factors[i].Name || f.Score != l.Factors[i].Score {
					t.Errorf("factor %d: audit %+v, decision log %+v", i, f, l.Factors[i])
				}
			}
			if c.wantSpan {
				a, ok := spanAttrs[l.ID]
				if !ok {
					t.Fatalf("no span carries decision %s", l.ID)
				}
				if a[telemetry.AttrAction] != l.Action || a[telemetry.AttrWouldAction] != l.WouldAction || a[telemetry.AttrRule] != l.Rule {
					t.Errorf("span %v disagrees with %+v", a, l)
				}
				for _, f := range l.Factors {
					if a[telemetry.AttrFactorPrefix+f.Name+".reason"] != f.Reason {
						t.Errorf("span factor %s reason %q, want %q", f.Name, a[telemetry.AttrFactorPrefix+f.Name+".reason"], f.Reason)
					}
				}
			}
			if data, ok := refused[l.ID]; c.wantRefuse != ok {
				t.Errorf("refusal data for %s: %v, want refused %v", l.ID, data, c.wantRefuse)
			} else if deciding, _, _ := strings.Cut(l.Rule, ","); ok && (data["rule"] != deciding || int(data["score"].(float64)) != l.Score) {
				// The decision log names the deciding rule first, then links
				// such as approval:ID; the refusal names the deciding rule.
				t.Errorf("refusal data %v disagrees with %+v", data, l)
			}
		})
	}
	for _, canary := range []string{"passwd", "CONTENT-CANARY", "ARG-CANARY", "Alice"} {
		for name, text := range map[string]string{"decision log": string(logText), "audit log": auditText.String(), "spans": spanText.String()} {
			if strings.Contains(text, canary) {
				t.Errorf("%s carries content %q", name, canary)
			}
		}
	}
}
