package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

const (
	idBlock  = "0193a1b2c3d4e5f60718293a4b5c6d01"
	idDryRun = "0193a1b2c3d4e5f60718293a4b5c6d02"
	idOther  = "0193a1b2c3d4e5f60718293a4b5c6d03"
)

var explainT0 = time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)

// writeAuditLog writes records through the audit package itself, so explain
// is tested against the real on-disk format.
func writeAuditLog(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "audit")
	cfg := audit.Config{Dir: dir}
	cfg.ApplyDefaults()
	l, err := audit.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	add := func(id string, d, would audit.Decision, rules []string, risk int, f []audit.Factor, fi []audit.Finding) {
		r := audit.NewRecord(audit.PlaneRequest, d)
		r.Time = explainT0
		r.WouldBe = would
		r.Agent, r.Session, r.Server, r.Tool, r.Method, r.RPCID = "agent-1", "sess-9", "github", "delete_repo", "tools/call", "42"
		r.DecisionID, r.Rules, r.Risk, r.Factors, r.Findings = id, rules, risk, f, fi
		r.PolicyVersion = "2026-11-24.1"
		r.Duration = 830 * time.Microsecond
		r.Content = &audit.Content{Arguments: `{"secret":"SHOULD-NOT-APPEAR"}`}
		if d == audit.DecisionBlock {
			r.ErrorType = "-32001"
		}
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	add(idOther, audit.DecisionAllow, 0, nil, 3, nil, nil)
	add(idBlock, audit.DecisionBlock, 0, []string{"deny-destructive"}, 91,
		[]audit.Factor{{Name: "tool_sensitivity", Score: 90}, {Name: "behavioral", Score: 75}},
		[]audit.Finding{{Type: "email", Count: 2}, {Type: "secret.github_token", Count: 1}})
	add(idDryRun, audit.DecisionDryRun, audit.DecisionBlock, []string{"deny-destructive"}, 40,
		[]audit.Factor{{Name: "tool_sensitivity", Score: 90, Weight: 3, Reason: "declared risk 90"}}, nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeDecisionLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	l, c, err := decisionlog.Config{Decisions: "all", DecisionsFile: path}.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &decisionlog.Decision{Time: explainT0, ID: idBlock, Principal: "agent-1", Server: "github", Method: "tools/call", Tool: "delete_repo",
		Plane: "request", Action: "block", WouldAction: "block", Mode: "enforce", Enforced: true, Rule: "deny-destructive",
		PolicyVersion: "2026-11-24.1", Score: 91,
		Factors: []decisionlog.Factor{
			{Name: "tool_sensitivity", Score: 90, Weight: 3, Reason: "tool delete_repo has risk 90"},
			{Name: "behavioral", Score: 75, Weight: 2, Reason: "velocity 12/min (6x baseline)"},
		},
		Findings: []decisionlog.Finding{{Type: "email", Rule: "pii.email", Path: "$.arguments.owner", Start: 3, End: 20}},
		Latency:  decisionlog.Latency{Parse: 12 * time.Microsecond, Detect: 140 * time.Microsecond, Policy: 20 * time.Microsecond, Total: 190 * time.Microsecond},
	}
	if err := l.Log(d); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExplain(t *testing.T) {
	dir := writeAuditLog(t)
	dlog := writeDecisionLog(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		golden   string
	}{
		{"block from audit", []string{"explain", idBlock, "--audit-dir", dir}, 0,
			[]string{"outcome", "block (enforced, mode enforce)", "deny-destructive (policy version 2026-11-24.1)", "91 (Critical)", "tool_sensitivity", "email ×2", "secret.github_token ×1", "weights and reasons come from the decision log"}, "explain_block.golden.txt"},
		{"block with decision log", []string{"explain", "--audit-dir", dir, "--decision-log", dlog, idBlock}, 0,
			[]string{"velocity 12/min (6x baseline)", "tool delete_repo has risk 90", "email  rule pii.email  at $.arguments.owner [3,20)", "latency: parse 12µs"}, "explain_block_dlog.golden.txt"},
		{"dry run says what enforce would do", []string{"explain", idDryRun, "--audit-dir", dir}, 0,
			[]string{"allow (not enforced; enforce mode would block)", "declared risk 90"}, ""},
		{"json", []string{"explain", idDryRun, "--audit-dir", dir, "--json"}, 0,
			[]string{`"decision_id": "` + idDryRun, `"would_action": "block"`, `"enforced": false`}, ""},
		{"not found", []string{"explain", "ffff", "--audit-dir", dir}, 1, nil, ""},
		{"missing dir", []string{"explain", idBlock, "--audit-dir", filepath.Join(dir, "nope")}, 2, nil, ""},
		{"no dir", []string{"explain", idBlock}, 2, nil, ""},
		{"decision log only", []string{"explain", idBlock, "--decision-log", dlog}, 0,
			[]string{"block (enforced, mode enforce)", "velocity 12/min (6x baseline)"}, ""},
		{"decision log only, not found", []string{"explain", idDryRun, "--decision-log", dlog}, 1, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _, err := run(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d\n%s", code, err, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "SHOULD-NOT-APPEAR") {
				t.Errorf("explain printed content:\n%s", out)
			}
			if tt.golden != "" {
				// Paths differ per run; the golden file has them replaced.
				norm := strings.ReplaceAll(strings.ReplaceAll(out, dir, "AUDIT"), dlog, "DECISIONLOG")
				checkGolden(t, tt.golden, norm)
			}
		})
	}
}

func TestExplainJSONRoundTrips(t *testing.T) {
	dir := writeAuditLog(t)
	_, out, _, err := run(t, "explain", idBlock, "--audit-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var e Explanation
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if e.ID != idBlock || e.Action != "block" || e.Score != 91 || len(e.Factors) != 2 || e.FindingCounts["email"] != 2 || e.TraceID != "" || e.ErrorType != "-32001" {
		t.Errorf("decoded %+v", e)
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", name, got, want)
	}
}
