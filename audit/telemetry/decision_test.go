package telemetry

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"context"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
)

func decision(server, tool, action, would, mode, rule string) *decisionlog.Decision {
	return &decisionlog.Decision{ID: "d1", Server: server, Tool: tool, Method: "tools/call", Action: action, WouldAction: would,
		Mode: mode, Enforced: action == would, Rule: rule, Score: 42, PolicyVersion: "v1",
		Factors:  []decisionlog.Factor{{Name: "behavioral", Score: 75, Weight: 2, Reason: "velocity 12/min (6x)"}},
		Findings: []decisionlog.Finding{{Type: "email", Rule: "pii.email", Start: 1, End: 5}, {Type: "email", Count: 2}},
		Latency:  decisionlog.Latency{Parse: 10 * time.Microsecond, Detect: 200 * time.Microsecond, Policy: 30 * time.Microsecond, Total: 300 * time.Microsecond},
	}
}

func TestObserveDecision(t *testing.T) {
	tests := []struct {
		name string
		d    *decisionlog.Decision
		// wantTool is the tool label the call is counted under.
		wantTool, wantAction, wantWould, wantMode, wantRule string
	}{
		{"block of a never-seen tool folds into other", decision("github", "delete_repo", "block", "block", "enforce", "deny-destructive"), OtherLabel, "block", "block", "enforce", "deny-destructive"},
		{"dry run", decision("github", "delete_repo", "allow", "block", "dry-run", "deny-destructive"), "delete_repo", "allow", "block", "dry-run", "deny-destructive"},
		{"unknown tool folds into other", decision("github", "made_up_tool", "block", "block", "enforce", "default-deny:unknown-tool"), OtherLabel, "block", "block", "enforce", "default-deny:unknown-tool"},
		{"odd action value is bounded", decision("github", "x", "Allow Me", "", "", "r"), "x", OtherLabel, OtherLabel, "none", "r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := New()
			tel.ObserveDecision(tt.d)
			m := scrapeSeries(t, tel)
			if got := m[fmt.Sprintf(`%s{action=%q,server=%q,tool=%q}`, MetricToolCalls, tt.wantAction, tt.d.Server, tt.wantTool)]; got != 1 {
				t.Errorf("%s{server=%s,tool=%s,action=%s} = %v, want 1", MetricToolCalls, tt.d.Server, tt.wantTool, tt.wantAction, got)
			}
			if got := m[fmt.Sprintf(`%s{action=%q,mode=%q,rule=%q,would_action=%q}`, MetricPolicyDecisions, tt.wantAction, tt.wantMode, tt.wantRule, tt.wantWould)]; got != 1 {
				t.Errorf("%s = %v, want 1", MetricPolicyDecisions, got)
			}
			if n := count(m, MetricDetectorHits); n != 0 {
				t.Errorf("ObserveDecision counted findings (%d series); DetectorHits owns that metric", n)
			}
			// parse, detect, policy observed; trust and audit were zero.
			if n := count(m, MetricDecisionPhase+"_count{"); n != 3 {
				t.Errorf("phase series = %d, want 3", n)
			}
			if n := count(m, MetricDecisionDuration+"_count{"); n != 1 {
				t.Errorf("end-to-end series = %d, want 1", n)
			}
		})
	}
}

// Refusals keep the tool's name when it is declared or was seen allowed.
func TestToolLabelForRefusals(t *testing.T) {
	tel := New()
	tel.KnownTools("github", "delete_repo", "create_*")
	tel.ObserveDecision(decision("github", "delete_repo", "block", "block", "enforce", "deny-destructive"))
	tel.ObserveDecision(decision("github", "create_issue", "allow", "allow", "enforce", "risk:low"))
	tel.ObserveDecision(decision("github", "create_issue", "block", "block", "enforce", "velocity"))
	tel.ObserveDecision(decision("github", "invented_1", "block", "block", "enforce", "deny-all"))
	m := scrapeSeries(t, tel)
	for series, want := range map[string]float64{
		MetricToolCalls + `{action="block",server="github",tool="delete_repo"}`:  1,
		MetricToolCalls + `{action="block",server="github",tool="create_issue"}`: 1,
		MetricToolCalls + `{action="allow",server="github",tool="create_issue"}`: 1,
		MetricToolCalls + `{action="block",server="github",tool="other"}`:        1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	if n := count(m, MetricToolCalls+"{"); n != 4 {
		t.Errorf("%d tool call series, want 4 (the glob declares nothing)", n)
	}
}

func TestToolLabelBoundedPerServer(t *testing.T) {
	tel := New()
	for i := 0; i < MaxToolsPerServer+10; i++ {
		tel.ObserveDecision(decision("a", fmt.Sprintf("tool_%d", i), "allow", "allow", "enforce", "r"))
	}
	// Another server has its own budget.
	tel.ObserveDecision(decision("b", "tool_0", "allow", "allow", "enforce", "r"))
	m := scrapeSeries(t, tel)
	if got := m[MetricToolCalls+`{action="allow",server="a",tool="other"}`]; got != 10 {
		t.Errorf("server a other = %v, want 10", got)
	}
	if got := m[MetricToolCalls+`{action="allow",server="b",tool="tool_0"}`]; got != 1 {
		t.Errorf("server b tool_0 = %v, want 1", got)
	}
	if n := count(m, MetricToolCalls+"{"); n != MaxToolsPerServer+2 {
		t.Errorf("series = %d, want %d", n, MaxToolsPerServer+2)
	}
}

func TestHealthMetrics(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tel := New(WithClock(func() time.Time { return now }))
	tel.Approval("requested")
	tel.Approval("requested")
	tel.Approval("approved")
	tel.ApprovalsPending(1)
	tel.SinkDelivered("splunk", 5)
	tel.DecisionLogError()
	m := scrapeSeries(t, tel)
	for series, want := range map[string]float64{
		MetricApprovals + `{result="requested"}`:  2,
		MetricApprovals + `{result="approved"}`:   1,
		MetricApprovalsPending:                    1,
		MetricSinkDelivered + `{sink="splunk"}`:   5,
		MetricSinkLastSuccess + `{sink="splunk"}`: 1_800_000_000,
		MetricDecisionLogErrs:                     1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	var nilTel *Telemetry
	nilTel.ObserveDecision(decision("a", "t", "allow", "allow", "enforce", "r"))
	nilTel.Approval("x")
	nilTel.SinkDelivered("s", 1)
}

func TestSpanDecisionRecord(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tel := New(WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	_, span := tel.StartCall(context.Background(), nil, Call{Method: "tools/call", Target: "delete_repo", Server: "github"})
	span.SetDecisionRecord(decision("github", "delete_repo", "allow", "block", "dry-run", "deny-destructive"))
	span.End("")
	if ev := rec.Ended()[0].Events(); len(ev) != 1 || ev[0].Name != EventDecision {
		t.Errorf("events %+v, want one %s", ev, EventDecision)
	}
	got := map[string]string{}
	for _, kv := range rec.Ended()[0].Attributes() {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	for k, v := range map[string]string{
		AttrDecisionID: "d1", AttrAction: "allow", AttrWouldAction: "block", AttrMode: "dry-run", AttrEnforced: "false",
		AttrRule: "deny-destructive", AttrPolicyVersion: "v1", AttrRisk: "42",
		AttrFactorPrefix + "behavioral.score": "75", AttrFactorPrefix + "behavioral.weight": "2",
		AttrFactorPrefix + "behavioral.reason": "velocity 12/min (6x)", AttrFindingTypes: `["email"]`,
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// scrapeSeries reads /metrics as served and returns every sample keyed by its
// series ("name{a=\"x\",b=\"y\"}", labels sorted as exposed).
func scrapeSeries(t *testing.T, tel *Telemetry) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return parseExposition(t, rec.Body.String())
}

func parseExposition(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func count(m map[string]float64, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

// RecordDecision feeds the metrics, the span and the decision log from the
// same record, and counts a decision log that cannot be written.
func TestRecordDecision(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tel := New(WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	var buf strings.Builder
	dlog := decisionlog.New(&buf, decisionlog.LevelAll)
	_, span := tel.StartCall(context.Background(), nil, Call{Method: "tools/call", Target: "delete_repo", Server: "github"})
	tel.KnownTools("github", "delete_repo")
	d := decision("github", "delete_repo", "block", "block", "enforce", "deny-destructive")
	tel.RecordDecision(d, span, dlog)
	span.End("-32001")

	line, err := decisionlog.Parse([]byte(strings.TrimSpace(buf.String())))
	if err != nil || line.ID != d.ID || line.Factors[0].Reason != d.Factors[0].Reason {
		t.Errorf("decision log line %q: %+v %v", buf.String(), line, err)
	}
	var spanID string
	for _, kv := range rec.Ended()[0].Attributes() {
		if string(kv.Key) == AttrDecisionID {
			spanID = kv.Value.AsString()
		}
	}
	if spanID != d.ID {
		t.Errorf("span decision id %q, want %q", spanID, d.ID)
	}
	m := scrapeSeries(t, tel)
	if m[MetricToolCalls+`{action="block",server="github",tool="delete_repo"}`] != 1 {
		t.Errorf("tool call not counted")
	}
	tel.RecordDecision(d, nil, decisionlog.New(failingWriter{}, decisionlog.LevelAll))
	if got := scrapeSeries(t, tel)[MetricDecisionLogErrs]; got != 1 {
		t.Errorf("%s = %v, want 1", MetricDecisionLogErrs, got)
	}
	var nilTel *Telemetry
	nilTel.RecordDecision(d, nil, nil)
}

// Both planes' decisions stay on the span: the last in the attributes, each
// as an event.
func TestSpanKeepsEveryDecisionAsEvent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tel := New(WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	_, span := tel.StartCall(context.Background(), nil, Call{Method: "tools/call", Target: "fetch", Server: "web"})
	req := decision("web", "fetch", "allow", "block", "dry-run", "fetch-only-example-com")
	req.ID, req.Plane = "req", "request"
	res := decision("web", "fetch", "allow", "allow", "enforce", "risk:low")
	res.ID, res.Plane = "res", "result"
	span.SetDecisionRecord(req)
	span.SetDecisionRecord(res)
	span.End("")
	s := rec.Ended()[0]
	var ids []string
	for _, ev := range s.Events() {
		for _, kv := range ev.Attributes {
			if string(kv.Key) == AttrDecisionID {
				ids = append(ids, kv.Value.AsString())
			}
		}
	}
	if strings.Join(ids, ",") != "req,res" {
		t.Errorf("event decision ids %v, want [req res]", ids)
	}
	for _, kv := range s.Attributes() {
		if string(kv.Key) == AttrDecisionID && kv.Value.AsString() != "res" {
			t.Errorf("attribute decision id %s, want the last (res)", kv.Value.AsString())
		}
	}
}
