package telemetry

import (
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
)

// Metric names added for per-decision observability (issue 13). The names in
// telemetry.go keep their meaning.
const (
	MetricToolCalls        = "portcullis_tool_calls_total"
	MetricPolicyDecisions  = "portcullis_policy_decisions_total"
	MetricDecisionPhase    = "portcullis_decision_phase_duration_seconds"
	MetricDecisionDuration = "portcullis_decision_duration_seconds"
	MetricRiskScore        = "portcullis_risk_score"
	MetricApprovals        = "portcullis_approvals_total"
	MetricApprovalsPending = "portcullis_approvals_pending"
	MetricSinkDelivered    = "portcullis_sink_delivered_total"
	MetricSinkLastSuccess  = "portcullis_sink_last_success_timestamp_seconds"
	MetricSinkDropped      = "portcullis_sink_dropped_total"
	MetricDecisionLogErrs  = "portcullis_decision_log_errors_total"
	MetricBuildInfo        = "portcullis_build_info"
)

// MaxToolsPerServer caps the distinct tool label values per server; further
// tools are counted as "other".
const MaxToolsPerServer = 32

// OtherLabel is the value excess or unknown label values fold into.
const OtherLabel = "other"

// decisionMetrics are the collectors ObserveDecision and the approval and
// sink health methods feed.
type decisionMetrics struct {
	toolCalls   *prometheus.CounterVec
	decisions   *prometheus.CounterVec
	phase       *prometheus.HistogramVec
	duration    *prometheus.HistogramVec
	risk        *prometheus.HistogramVec
	approvals   *prometheus.CounterVec
	pending     prometheus.Gauge
	delivered   *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
	dropped     *prometheus.CounterVec
	dlogErrors  prometheus.Counter
	buildInfo   prometheus.Collector

	rules, results *bounded
	toolsMu        sync.Mutex
	tools          map[string]*bounded // per server label value
}

func newDecisionMetrics() *decisionMetrics {
	return &decisionMetrics{
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricToolCalls,
			Help: "Decided MCP calls by server, tool and action. Unknown tools (default-deny) and tools beyond the per-server cap are counted as tool=\"other\"."},
			[]string{"server", "tool", "action"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricPolicyDecisions,
			Help: "Policy decisions by action taken, action enforce mode would take, rollout mode and the rule that decided."},
			[]string{"action", "would_action", "mode", "rule"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricDecisionPhase,
			Help: "Time per decision phase: parse, trust, detect, policy, audit.", Buckets: LatencyBuckets}, []string{"phase"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricDecisionDuration,
			Help: "End-to-end gateway time of one decision by server.", Buckets: LatencyBuckets}, []string{"server"}),
		risk: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricRiskScore,
			Help: "Risk score (0-100) of decided calls by server.", Buckets: prometheus.LinearBuckets(10, 10, 10)}, []string{"server"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricApprovals,
			Help: "Approval requests by outcome: requested, approved, rejected, expired, used, refused."}, []string{"result"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricApprovalsPending,
			Help: "Approval requests waiting for a human."}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricSinkDelivered,
			Help: "Audit records delivered by sink."}, []string{"sink"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricSinkLastSuccess,
			Help: "Unix time of the last successful delivery by sink."}, []string{"sink"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricSinkDropped,
			Help: "Audit records a sink never delivered: its spool was full, or the service rejected them for good (dead-letter file)."}, []string{"sink"}),
		dlogErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricDecisionLogErrs,
			Help: "Decision log lines that could not be written."}),
		buildInfo: buildInfoGauge(),
		rules:     newBounded(), results: newBounded(), tools: map[string]*bounded{},
	}
}

// buildInfoGauge is the constant 1 labelled with the binary's module
// version, VCS revision and Go version (what `portcullis version` prints),
// so dashboards can tell which build is running.
func buildInfoGauge() prometheus.Collector {
	version, revision, goVersion := "(unknown)", "(unknown)", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricBuildInfo, Help: "Build information; the value is always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "go_version": goVersion}})
	g.Set(1)
	return g
}

func (m *decisionMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.toolCalls, m.decisions, m.phase, m.duration, m.risk, m.approvals, m.pending, m.delivered, m.lastSuccess, m.dropped, m.dlogErrors, m.buildInfo}
}

// toolSet returns the bounded tool label set of a server.
func (m *decisionMetrics) toolSet(server string) *bounded {
	m.toolsMu.Lock()
	defer m.toolsMu.Unlock()
	b := m.tools[server]
	if b == nil {
		b = newBoundedN(MaxToolsPerServer)
		m.tools[server] = b
	}
	return b
}

// tool bounds the tool label per server. A tool name the client chose gets
// its own label value only if the call was not blocked or the name was
// declared with KnownTools: a client could otherwise spend the server's
// label budget on invented names that the gateway refuses.
func (m *decisionMetrics) tool(server, tool, action, rule string) string {
	if tool == "" {
		return "none"
	}
	if strings.HasPrefix(rule, "default-deny:unknown") {
		return OtherLabel
	}
	b := m.toolSet(server)
	if action == "block" {
		if b.has(tool) {
			return tool
		}
		return OtherLabel
	}
	return b.value(tool)
}

// KnownTools declares tool names of a server (from the configuration and
// the policy) so that their refusals are counted under their own name.
// Names beyond MaxToolsPerServer and glob patterns are ignored.
func (t *Telemetry) KnownTools(server string, tools ...string) {
	if t == nil {
		return
	}
	b := t.dm.toolSet(t.servers.value(server))
	for _, name := range tools {
		if name != "" && !strings.ContainsAny(name, "*?[") {
			b.value(name)
		}
	}
}

// ObserveDecision records one decision in the metrics: the per-tool call
// counter, the decision counter by action/would_action/mode/rule, the
// per-phase and end-to-end latency histograms and the risk score. Detector
// findings are not counted here: DetectorHits counts them where detection
// runs, so wiring ObserveDecision in cannot count a finding twice. Labels are
// bounded: server and rule at MaxLabelValues, tool at MaxToolsPerServer per
// server.
func (t *Telemetry) ObserveDecision(d *decisionlog.Decision) {
	if t == nil || d == nil {
		return
	}
	m := t.dm
	server := t.servers.value(d.Server)
	action := enumLabel(d.Action)
	would := enumLabel(d.WouldAction)
	if d.WouldAction == "" {
		would = action
	}
	m.toolCalls.WithLabelValues(server, m.tool(server, d.Tool, action, d.Rule), action).Inc()
	m.decisions.WithLabelValues(action, would, enumLabel(d.Mode), m.rules.value(d.Rule)).Inc()
	d.Latency.Each(func(phase string, dur time.Duration) {
		if dur <= 0 {
			return
		}
		if phase == "total" {
			m.duration.WithLabelValues(server).Observe(dur.Seconds())
			return
		}
		m.phase.WithLabelValues(phase).Observe(dur.Seconds())
	})
	m.risk.WithLabelValues(server).Observe(float64(d.Score))
}

// enumLabel keeps enum-like values (actions, modes) bounded: anything that
// is not a short lower-case identifier becomes "other".
func enumLabel(v string) string {
	if v == "" {
		return "none"
	}
	if len(v) > 32 {
		return OtherLabel
	}
	for _, r := range v {
		if (r < 'a' || r > 'z') && r != '_' && r != '-' {
			return OtherLabel
		}
	}
	return v
}

// Approval counts an approval event: "requested", "approved", "rejected",
// "expired", "used" or "refused".
func (t *Telemetry) Approval(result string) {
	if t == nil {
		return
	}
	t.dm.approvals.WithLabelValues(t.dm.results.value(enumLabel(result))).Inc()
}

// ApprovalsPending sets the number of approval requests waiting for a human.
func (t *Telemetry) ApprovalsPending(n int) {
	if t != nil {
		t.dm.pending.Set(float64(n))
	}
}

// SinkDelivered counts n records delivered by a sink and stamps its last
// success time (alerts fire when it grows old while errors rise).
func (t *Telemetry) SinkDelivered(sink string, n int) {
	if t == nil || n <= 0 {
		return
	}
	s := t.sinks.value(sink)
	t.dm.delivered.WithLabelValues(s).Add(float64(n))
	t.dm.lastSuccess.WithLabelValues(s).Set(float64(t.now().UnixNano()) / 1e9)
}

// SinkDropped counts n records a sink will never deliver (spool full, or
// moved to a dead-letter file). The audit log itself still has them.
func (t *Telemetry) SinkDropped(sink string, n int) {
	if t == nil || n <= 0 {
		return
	}
	t.dm.dropped.WithLabelValues(t.sinks.value(sink)).Add(float64(n))
}

// DecisionLogError counts a decision log line that could not be written.
func (t *Telemetry) DecisionLogError() {
	if t != nil {
		t.dm.dlogErrors.Inc()
	}
}

// SetDecisionRecord puts the content-free decision on the span: the
// decision id, action, would-be action, mode, rule, policy version, risk
// score and each factor's score, weight and reason. It leaves
// portcullis.decision and portcullis.rule_ids to SetDecision (the audit
// view), so calling both keeps each attribute single-sourced.
//
// A call decided on both planes (request, then result) keeps the last
// decision in the attributes and every decision as a span event named
// EventDecision with the same attributes, so a dry-run refusal on the
// request is not lost when the result is allowed.
func (s *Span) SetDecisionRecord(d *decisionlog.Decision) {
	if s == nil || d == nil || !s.s.IsRecording() {
		return
	}
	attrs := decisionAttributes(d)
	s.s.SetAttributes(attrs...)
	s.s.AddEvent(EventDecision, trace.WithAttributes(attrs...))
}

// Portcullis span attributes for the decision record.
const (
	AttrDecisionID    = "portcullis.decision.id"
	AttrAction        = "portcullis.decision.action"
	AttrWouldAction   = "portcullis.decision.would_action"
	AttrMode          = "portcullis.decision.mode"
	AttrEnforced      = "portcullis.decision.enforced"
	AttrRule          = "portcullis.decision.rule"
	AttrPolicyVersion = "portcullis.policy.version"
	AttrPrincipal     = "portcullis.principal"
	AttrPlane         = "portcullis.decision.plane"
	// EventDecision is the span event recorded per decision.
	EventDecision = "portcullis.decision"
	// AttrFactorPrefix + name + ".score" / ".weight" / ".reason".
	AttrFactorPrefix = "portcullis.risk.factor."
	// AttrFindingTypes lists the distinct finding types (no content).
	AttrFindingTypes = "portcullis.findings.types"
)

func decisionAttributes(d *decisionlog.Decision) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 10+3*len(d.Factors))
	attrs = append(attrs,
		attribute.String(AttrDecisionID, d.ID),
		attribute.String(AttrPlane, d.Plane),
		attribute.String(AttrAction, d.Action),
		attribute.String(AttrWouldAction, d.WouldAction),
		attribute.String(AttrMode, d.Mode),
		attribute.Bool(AttrEnforced, d.Enforced),
		attribute.String(AttrRule, d.Rule),
		attribute.String(AttrPolicyVersion, d.PolicyVersion),
		attribute.Int(AttrRisk, d.Score),
	)
	if d.Principal != "" {
		attrs = append(attrs, attribute.String(AttrPrincipal, d.Principal))
	}
	for _, f := range d.Factors {
		p := AttrFactorPrefix + f.Name
		attrs = append(attrs, attribute.Int(p+".score", f.Score), attribute.Int(p+".weight", f.Weight))
		if f.Reason != "" {
			attrs = append(attrs, attribute.String(p+".reason", f.Reason))
		}
	}
	if len(d.Findings) > 0 {
		types := make([]string, 0, len(d.Findings))
		for _, f := range d.Findings {
			if !slices.Contains(types, f.Type) {
				types = append(types, f.Type)
			}
		}
		attrs = append(attrs, attribute.StringSlice(AttrFindingTypes, types))
	}
	return attrs
}

// RecordDecision is the one call the decision path makes once a decision is
// final: it counts it (ObserveDecision), puts it on the call's span
// (SetDecisionRecord) and writes the decision log line, counting a failed
// write. Every argument may be nil.
func (t *Telemetry) RecordDecision(d *decisionlog.Decision, span *Span, log *decisionlog.DecisionLogger) {
	if d == nil {
		return
	}
	t.ObserveDecision(d)
	span.SetDecisionRecord(d)
	if err := log.Log(d); err != nil {
		t.DecisionLogError()
	}
}
