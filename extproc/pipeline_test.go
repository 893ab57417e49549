package extproc

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/internal/scriptstream"
)

// fakeDetector flags fixed markers: INJECT (injection), SECRET (secret) and
// any "pii:<word>" (an email-like value). Redact and Restore swap values
// for [PII_n] in a per-vault map, so restore-before-decide is observable.
type fakeDetector struct {
	mu     sync.Mutex
	vaults map[string]map[string]string // vault -> surrogate -> original
}

func (f *fakeDetector) Scan(raw []byte) ([]Finding, error) {
	s := string(raw)
	if strings.Contains(s, "TOOBIG") {
		return nil, errors.New("the content exceeds the detectors' scan limits")
	}
	var out []Finding
	if strings.Contains(s, "INJECT") {
		out = append(out, Finding{Detector: "injection", Category: "prompt_injection", Path: "content.0.text", Count: 1, Confidence: 0.99})
	}
	if strings.Contains(s, "LOWINJ") {
		out = append(out, Finding{Detector: "injection", Category: "prompt_injection", Count: 1, Confidence: 0.6})
	}
	if strings.Contains(s, "SECRET") {
		out = append(out, Finding{Detector: "secret", Category: "secret", EntityType: "aws", Count: 1, Value: "SECRET"})
	}
	for _, w := range strings.Fields(strings.NewReplacer(`"`, " ", `,`, " ", `}`, " ").Replace(s)) {
		if strings.HasPrefix(w, "pii:") {
			out = append(out, Finding{Detector: "pii", Category: "pii", EntityType: "email", Count: 1, Value: w})
		}
	}
	return out, nil
}

func (f *fakeDetector) ScanTools([]byte) (map[string]string, error) { return nil, nil }

func (f *fakeDetector) Redact(raw []byte, vault string, _ []string, _ string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vaults == nil {
		f.vaults = map[string]map[string]string{}
	}
	v := f.vaults[vault]
	if v == nil {
		v = map[string]string{}
		if vault != "" {
			f.vaults[vault] = v
		}
	}
	s := string(raw)
	for _, w := range strings.Fields(strings.NewReplacer(`"`, " ", `,`, " ", `}`, " ").Replace(s)) {
		if strings.HasPrefix(w, "pii:") {
			sur := "[PII_" + string(rune('0'+len(v)+1)) + "]"
			v[sur] = w
			s = strings.ReplaceAll(s, w, sur)
		}
	}
	return []byte(s), nil
}

func (f *fakeDetector) Restore(raw []byte, vault string) ([]byte, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, n := string(raw), 0
	for sur, orig := range f.vaults[vault] {
		if strings.Contains(s, sur) {
			s, n = strings.ReplaceAll(s, sur, orig), n+1
		}
	}
	return []byte(s), n, nil
}

// fakeAudit keeps what record appended (copied: records are pooled).
type fakeAudit struct {
	mu      sync.Mutex
	recs    []audit.Record
	fail    bool
	content bool
}

func (a *fakeAudit) Append(r *audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("disk full")
	}
	c := *r
	c.Rules = append([]string(nil), r.Rules...)
	a.recs = append(a.recs, c)
	return nil
}
func (a *fakeAudit) Digest([]byte) string { return "d" }
func (a *fakeAudit) Content() bool        { return a.content }

type fakeObserver struct{ got []Outcome }

func (o *fakeObserver) Observe(x *Outcome) { o.got = append(o.got, *x) }

type harness struct {
	srv   *Server
	det   *fakeDetector
	aud   *fakeAudit
	obs   *fakeObserver
	tel   *telemetry.Telemetry
	spans *tracetest.SpanRecorder
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{det: &fakeDetector{}, aud: &fakeAudit{}, obs: &fakeObserver{}, spans: tracetest.NewSpanRecorder()}
	h.tel = telemetry.New(telemetry.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))))
	h.srv = NewServer(cfg, WithEngines(Engines{Detector: h.det, Audit: h.aud, Telemetry: h.tel, Observers: []Observer{h.obs}, ResultRules: DefaultResultRules}))
	return h
}

// exchange drives one HTTP exchange through a stream without gRPC and
// returns the replies.
func (h *harness) exchange(t *testing.T, reqHdr []string, body string, respCT, respBody string) []*extprocv3.ProcessingResponse {
	t.Helper()
	st := h.srv.newStream(context.Background())
	defer st.finish()
	msgs := []*extprocv3.ProcessingRequest{reqHeadersMsg(reqHdr...), reqBodyMsg(body)}
	if respCT != "" {
		msgs = append(msgs, respHeadersMsg(respCT), respBodyMsg(respBody, true))
	}
	var out []*extprocv3.ProcessingResponse
	for _, m := range msgs {
		r, err := st.safeHandle(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
		if st.finished {
			break
		}
	}
	return out
}

func (h *harness) metric(decision, plane string) float64 {
	mfs, _ := h.tel.Registry().Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != telemetry.MetricDecisions {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label(m, "decision") == decision && label(m, "plane") == plane {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func label(m *dto.Metric, k string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == k {
			return l.GetValue()
		}
	}
	return ""
}

func bodyOf(r *extprocv3.ProcessingResponse) string {
	switch v := r.Response.(type) {
	case *extprocv3.ProcessingResponse_ImmediateResponse:
		return string(v.ImmediateResponse.Body)
	case *extprocv3.ProcessingResponse_RequestBody:
		return string(v.RequestBody.GetResponse().GetBodyMutation().GetBody())
	case *extprocv3.ProcessingResponse_ResponseBody:
		return string(v.ResponseBody.GetResponse().GetBodyMutation().GetBody())
	}
	return ""
}

// TestPipelineOutcomes drives the decision path without gRPC with fake
// engines and checks the final outcome of each message: what goes
// upstream, what the client gets, and that the audit record, the decision
// metric, the span and the observers all agree because they come from one
// record call.
func TestPipelineOutcomes(t *testing.T) {
	call := func(id, args string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"read_file","arguments":` + args + `}}`
	}
	for _, tc := range []struct {
		name             string
		body             string
		respBody         string // "" = refused before the upstream
		auditFail        bool
		wantUp, wantDown string // substrings of the rewritten request / reply ("" = unchanged)
		decisions        []string
	}{
		{name: "clean call and result", body: call("1", `{"path":"a"}`), respBody: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`,
			decisions: []string{"request:allow", "result:allow"}},
		{name: "trust plane refusal", body: call("2", `{}`)[:0] + `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_all"}}`,
			wantDown: `"id":2`, decisions: []string{"request:block"}},
		{name: "injection in arguments", body: call("3", `{"path":"INJECT"}`), wantDown: "blocked by policy", decisions: []string{"request:block"}},
		{name: "low-confidence injection in arguments is allowed and audited", body: call("31", `{"path":"LOWINJ"}`), decisions: []string{"request:allow"}},
		{name: "secret in arguments", body: call("4", `{"path":"SECRET"}`), wantDown: "blocked by policy", decisions: []string{"request:block"}},
		{name: "pii in arguments is redacted upstream", body: call("5", `{"path":"pii:bob"}`), wantUp: `[PII_1]`,
			respBody: `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"ok"}]}}`, decisions: []string{"request:redact", "result:allow"}},
		{name: "injection in result gets a notice", body: call("6", `{}`), respBody: `{"jsonrpc":"2.0","id":6,"result":{"content":[{"type":"text","text":"INJECT"}]}}`,
			wantDown: "content removed", decisions: []string{"request:allow", "result:block"}},
		{name: "uninspectable result withheld", body: call("7", `{}`), respBody: `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"TOOBIG"}]}}`,
			wantDown: "could not inspect", decisions: []string{"request:allow", "result:block"}},
		{name: "audit failure refuses", body: call("8", `{"path":"a"}`), auditFail: true, wantDown: "cannot accept records", decisions: []string{"request:allow"}},
		{name: "prompts/get secret", body: `{"jsonrpc":"2.0","id":9,"method":"prompts/get","params":{"name":"p","arguments":{"x":"SECRET"}}}`,
			wantDown: "blocked by policy: secret", decisions: []string{"request:block"}},
		{name: "batch refused whole", body: `[` + call("10", `{"path":"a"}`) + `,` + call("11", `{"path":"INJECT"}`) + `]`,
			wantDown: "batch", decisions: []string{"request:block", "request:block"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.aud.fail = tc.auditFail
			ct := ""
			if tc.respBody != "" {
				ct = "application/json"
			}
			replies := h.exchange(t, []string{"mcp-session-id", "s"}, tc.body, ct, tc.respBody)
			up := bodyOf(replies[1])
			down := bodyOf(replies[len(replies)-1])
			if tc.wantUp != "" && !strings.Contains(up, tc.wantUp) {
				t.Errorf("upstream body %q lacks %q", up, tc.wantUp)
			}
			if tc.wantDown != "" && !strings.Contains(down, tc.wantDown) {
				t.Errorf("client got %q, want %q", down, tc.wantDown)
			}
			if tc.wantDown == "" && tc.respBody != "" && down != "" && tc.wantUp == "" {
				t.Errorf("clean result was rewritten: %q", down)
			}
			// One outcome per decided message, and every view agrees.
			if len(h.obs.got) != len(tc.decisions) {
				t.Fatalf("observed %d outcomes, want %d: %+v", len(h.obs.got), len(tc.decisions), h.obs.got)
			}
			counts := map[string]float64{}
			for i, o := range h.obs.got {
				got := o.Plane.String() + ":" + o.Decision.String()
				if got != tc.decisions[i] {
					t.Errorf("outcome %d is %s, want %s", i, got, tc.decisions[i])
				}
				counts[got]++
				if !tc.auditFail {
					r := h.aud.recs[i]
					if r.Decision != o.Decision || r.Plane != o.Plane || r.DecisionID != o.DecisionID || strings.Join(r.Rules, ",") != strings.Join(o.Rules, ",") {
						t.Errorf("audit record %d (%v %v %s %v) disagrees with outcome (%v %v %s %v)", i, r.Plane, r.Decision, r.DecisionID, r.Rules, o.Plane, o.Decision, o.DecisionID, o.Rules)
					}
				}
			}
			for k, n := range counts {
				plane, dec, _ := strings.Cut(k, ":")
				if m := h.metric(dec, plane); m != n {
					t.Errorf("metric %s = %v, outcomes %v", k, m, n)
				}
			}
			if !tc.auditFail && len(h.aud.recs) != len(h.obs.got) {
				t.Errorf("%d audit records for %d outcomes", len(h.aud.recs), len(h.obs.got))
			}
			// Spans of tools/call carry the final decision.
			for _, sp := range h.spans.Ended() {
				var dec string
				for _, a := range sp.Attributes() {
					if string(a.Key) == telemetry.AttrDecision {
						dec = a.Value.AsString()
					}
				}
				if dec == "" {
					continue
				}
				found := false
				for _, o := range h.obs.got {
					if o.Method == "tools/call" && o.Decision.String() == dec {
						found = true
					}
				}
				if !found {
					t.Errorf("span decision %q matches no outcome", dec)
				}
			}
		})
	}
}

// Restored surrogates are decided on: a result's value redacted for one
// vault comes back as the original before detection, for the same vault
// only.
func TestPipelineRestoreBeforeDecide(t *testing.T) {
	h := newHarness(t)
	// The result carries a secret-looking pii value: redacted to [PII_1].
	replies := h.exchange(t, []string{"mcp-session-id", "s"}, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`,
		"application/json", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"pii:carol"}]}}`)
	if down := bodyOf(replies[len(replies)-1]); !strings.Contains(down, "[PII_1]") {
		t.Fatalf("result not redacted: %s", down)
	}
	// The model sends the surrogate back: the upstream gets the original,
	// and it is not re-redacted (it is the caller's own data).
	replies = h.exchange(t, []string{"mcp-session-id", "s"}, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"to":"[PII_1]"}}}`, "", "")
	if up := bodyOf(replies[1]); !strings.Contains(up, "pii:carol") {
		t.Fatalf("surrogate not restored for the upstream: %q", up)
	}
	// Another session gets nothing restored.
	replies = h.exchange(t, []string{"mcp-session-id", "other"}, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file","arguments":{"to":"[PII_1]"}}}`, "", "")
	if up := bodyOf(replies[1]); strings.Contains(up, "pii:carol") {
		t.Fatalf("restored across sessions: %q", up)
	}
}

// With audit content on, records keep what was forwarded, never the values
// the gateway removed (issue 11 #21, the part the decision path owns).
func TestPipelineAuditContentIsWhatWasForwarded(t *testing.T) {
	h := newHarness(t)
	h.aud.content = true
	h.exchange(t, []string{"mcp-session-id", "s"}, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"to":"pii:bob"}}}`,
		"application/json", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"INJECT"},{"type":"text","text":"pii:carol"}]}}`)
	h.exchange(t, nil, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"k":"SECRET"}}}`, "", "")
	if len(h.aud.recs) != 3 {
		t.Fatalf("%d records", len(h.aud.recs))
	}
	for i, r := range h.aud.recs {
		var all string
		if r.Content != nil {
			all = r.Content.Arguments + r.Content.Result
		}
		for _, leak := range []string{"pii:bob", "pii:carol", "INJECT", "SECRET"} {
			if strings.Contains(all, leak) {
				t.Errorf("record %d content keeps %q: %s", i, leak, all)
			}
		}
	}
	if c := h.aud.recs[1].Content; c == nil || !strings.Contains(c.Result, "content removed") {
		t.Errorf("result content is not what the client received: %+v", c)
	}
}

// TestPhaseDurations: Process times every message of an exchange under its
// own phase (timers resolved once per Server), one observation each.
func TestPhaseDurations(t *testing.T) {
	h := newHarness(t)
	script := []*extprocv3.ProcessingRequest{reqHeadersMsg(), reqBodyMsg(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`),
		respHeadersMsg("application/json"), respBodyMsg(`{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, true)}
	for range 2 {
		if err := h.srv.Process(scriptstream.New(script)); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := h.tel.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != telemetry.MetricPhaseDuration {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[label(m, "phase")] = m.GetHistogram().GetSampleCount()
		}
	}
	want := map[string]uint64{"request_headers": 2, "request_body": 2, "response_headers": 2, "response_body": 2}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("phase observations %v, want %v", got, want)
	}
}
