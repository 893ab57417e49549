package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis-mcp/portcullis/audit"
)

// Metric names (Prometheus).
const (
	MetricDecisions      = "portcullis_decisions_total"
	MetricPhaseDuration  = "portcullis_phase_duration_seconds"
	MetricDetectorHits   = "portcullis_detector_hits_total"
	MetricAuditQueue     = "portcullis_audit_queue_depth"
	MetricAuditFsync     = "portcullis_audit_fsync_duration_seconds"
	MetricAuditFsyncRecs = "portcullis_audit_fsync_records"
	MetricAuditDropped   = "portcullis_audit_dropped_total"
	MetricSinkErrors     = "portcullis_sink_errors_total"
	MetricPolicyReloads  = "portcullis_policy_reloads_total"
)

// Span attribute names: OpenTelemetry MCP and GenAI semantic conventions
// (semconv v1.41.0; pinned by telemetry_test.go) plus Portcullis' own.
const (
	AttrMCPMethodName       = "mcp.method.name"
	AttrMCPSessionID        = "mcp.session.id"
	AttrMCPProtocolVersion  = "mcp.protocol.version"
	AttrJSONRPCRequestID    = "jsonrpc.request.id"
	AttrJSONRPCVersion      = "jsonrpc.protocol.version"
	AttrGenAIOperationName  = "gen_ai.operation.name"
	AttrGenAIToolName       = "gen_ai.tool.name"
	AttrGenAIPromptName     = "gen_ai.prompt.name"
	AttrErrorType           = "error.type"
	AttrRPCResponseStatus   = "rpc.response.status_code"
	AttrNetworkTransport    = "network.transport"
	AttrNetworkProtocolName = "network.protocol.name"
	AttrServerAddress       = "server.address"

	// Portcullis-specific attributes.
	AttrBackend  = "portcullis.server"
	AttrDecision = "portcullis.decision"
	AttrRisk     = "portcullis.risk_score"
	AttrRules    = "portcullis.rule_ids"

	// OperationExecuteTool is gen_ai.operation.name for tools/call.
	OperationExecuteTool = "execute_tool"
	// ErrorTypeTool is error.type when CallToolResult.isError is true.
	ErrorTypeTool = "tool_error"
	// TracerName is the instrumentation scope.
	TracerName = "github.com/portcullis-mcp/portcullis"
)

// MaxLabelValues caps distinct values of an open-ended label.
const MaxLabelValues = 64

// LatencyBuckets are sub-millisecond-resolution buckets (seconds) for
// gateway phases; the MCP semconv buckets start at 10 ms, too coarse here.
var LatencyBuckets = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

// Telemetry holds the metrics and the tracer.
type Telemetry struct {
	reg        *prometheus.Registry
	tracer     trace.Tracer
	prop       propagation.TextMapPropagator
	decisions  *prometheus.CounterVec
	phase      *prometheus.HistogramVec
	detector   *prometheus.CounterVec
	queue      prometheus.Gauge
	fsync      prometheus.Histogram
	fsyncRecs  prometheus.Histogram
	dropped    prometheus.Counter
	sinkErrors *prometheus.CounterVec
	reloads    *prometheus.CounterVec

	servers, phases, detectors, sinks *bounded

	dm  *decisionMetrics
	now func() time.Time

	// tracing is the swappable span pipeline (ConfigureTracing); nil until
	// configured, then StartCall uses its tracer instead of tracer.
	tracing     atomic.Pointer[tracing]
	fixedTracer bool
}

var _ audit.Observer = (*Telemetry)(nil)

// Option configures New.
type Option func(*Telemetry)

// WithTracerProvider sets the tracer provider (default otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(t *Telemetry) { t.tracer, t.fixedTracer = tp.Tracer(TracerName), true }
}

// WithClock sets the clock used for timestamp metrics (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(t *Telemetry) { t.now = now }
}

// WithPropagator sets the propagator used to extract incoming context
// (default W3C traceparent/tracestate + baggage).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(t *Telemetry) { t.prop = p }
}

// New builds a Telemetry with its own Prometheus registry (plus Go and
// process collectors).
func New(opts ...Option) *Telemetry {
	t := &Telemetry{
		reg:  prometheus.NewRegistry(),
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricDecisions,
			Help: "Decisions by decision, plane and upstream server."}, []string{"decision", "plane", "server"}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricPhaseDuration,
			Help: "Time spent per processing phase.", Buckets: LatencyBuckets}, []string{"phase"}),
		detector: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricDetectorHits,
			Help: "Detector findings by type."}, []string{"type"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricAuditQueue,
			Help: "Records waiting in the audit queue."}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricAuditFsync,
			Help: "Audit group-commit (flush + fsync) latency.", Buckets: LatencyBuckets}),
		fsyncRecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricAuditFsyncRecs,
			Help: "Records per audit group commit.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricAuditDropped,
			Help: "Audit records dropped because the queue was full (on_full: drop); each drop is recorded in a gap record."}),
		sinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricSinkErrors,
			Help: "Failed sink delivery attempts by sink."}, []string{"sink"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricPolicyReloads,
			Help: "Policy reloads by result (ok, error)."}, []string{"result"}),
		servers: newBounded(), phases: newBounded(), detectors: newBounded(), sinks: newBounded(),
		dm: newDecisionMetrics(), now: time.Now,
	}
	t.reg.MustRegister(t.decisions, t.phase, t.detector, t.queue, t.fsync, t.fsyncRecs, t.dropped, t.sinkErrors, t.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	t.reg.MustRegister(t.dm.collectors()...)
	for _, o := range opts {
		o(t)
	}
	if t.tracer == nil {
		t.tracer = otel.GetTracerProvider().Tracer(TracerName)
	}
	return t
}

// Registry returns the Prometheus registry (to add collectors).
func (t *Telemetry) Registry() *prometheus.Registry {
	if t == nil {
		return nil
	}
	return t.reg
}

// Handler serves /metrics.
func (t *Telemetry) Handler() http.Handler {
	if t == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(t.reg, promhttp.HandlerOpts{Registry: t.reg})
}

// Decision counts one decision. server must be a configured server name.
func (t *Telemetry) Decision(server string, plane audit.Plane, d audit.Decision) {
	if t == nil {
		return
	}
	t.decisions.WithLabelValues(d.String(), plane.String(), t.servers.value(server)).Inc()
}

// PhaseTimer returns the observer of one phase's durations, its histogram
// child resolved on first use and then kept (for callers that time the
// same phases per message). A phase never observed exports no series.
func (t *Telemetry) PhaseTimer(phase string) func(time.Duration) {
	if t == nil {
		return func(time.Duration) {}
	}
	var once sync.Once
	var o prometheus.Observer
	return func(d time.Duration) {
		once.Do(func() { o = t.phase.WithLabelValues(t.phases.value(phase)) })
		o.Observe(d.Seconds())
	}
}

// Phase observes the duration of one processing phase (e.g. parse, detect,
// policy, total). Phase names are code constants, not data.
func (t *Telemetry) Phase(phase string, d time.Duration) {
	if t == nil {
		return
	}
	t.phase.WithLabelValues(t.phases.value(phase)).Observe(d.Seconds())
}

// DetectorHits counts n findings of a detector type (never the value).
func (t *Telemetry) DetectorHits(typ string, n int) {
	if t == nil || n <= 0 {
		return
	}
	t.detector.WithLabelValues(t.detectors.value(typ)).Add(float64(n))
}

// SinkError counts a failed delivery attempt of a sink.
func (t *Telemetry) SinkError(sink string) {
	if t == nil {
		return
	}
	t.sinkErrors.WithLabelValues(t.sinks.value(sink)).Inc()
}

// OnSinkError has the signature of sink.Options.OnError / sinks.Open's
// onError: it counts the failure (the error text is not a label).
func (t *Telemetry) OnSinkError(sink string, _ error) { t.SinkError(sink) }

// PolicyReload counts a policy reload.
func (t *Telemetry) PolicyReload(err error) {
	if t == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	t.reloads.WithLabelValues(result).Inc()
}

// AuditQueueDepth implements audit.Observer.
func (t *Telemetry) AuditQueueDepth(n int) {
	if t != nil {
		t.queue.Set(float64(n))
	}
}

// AuditFsync implements audit.Observer.
func (t *Telemetry) AuditFsync(d time.Duration, records int) {
	if t != nil {
		t.fsync.Observe(d.Seconds())
		t.fsyncRecs.Observe(float64(records))
	}
}

// AuditDropped implements audit.Observer.
func (t *Telemetry) AuditDropped(n int) {
	if t != nil {
		t.dropped.Add(float64(n))
	}
}

// Call describes one MCP message for its span. Only metadata: no arguments,
// results or error messages.
type Call struct {
	Method          string // JSON-RPC method, e.g. tools/call
	Target          string // tool or prompt name (span name suffix)
	Session         string // Mcp-Session-Id
	ProtocolVersion string // MCP-Protocol-Version
	RequestID       string // JSON-RPC id as string; empty for notifications
	Server          string // upstream server name
	ServerAddress   string // upstream host
}

// Span wraps the span of one call.
type Span struct{ s trace.Span }

// StartCall extracts the W3C trace context from carrier (incoming request
// headers; propagation.HeaderCarrier(http.Header) or propagation.MapCarrier)
// and starts a SERVER span named "{mcp.method.name} {target}" with the MCP
// and GenAI attributes. The returned context carries the span (inject it
// into the upstream request to continue the trace).
func (t *Telemetry) StartCall(ctx context.Context, carrier propagation.TextMapCarrier, c Call) (context.Context, *Span) {
	if t == nil {
		return ctx, nil
	}
	if carrier != nil {
		ctx = t.prop.Extract(ctx, carrier)
	}
	tr, sdk := t.currentTracer(), t.fixedTracer || t.exporting()
	if !sdk {
		// The default (global) tracer records nothing unless the program
		// installed a provider: start first, and name and describe the
		// span only if it records, so an unrecorded call builds no
		// attributes. (Only a sampler reading start attributes would see
		// the difference; Portcullis's own pipeline below gets them at
		// start.)
		ctx, s := tr.Start(ctx, c.Method, trace.WithSpanKind(trace.SpanKindServer))
		if s.IsRecording() {
			s.SetName(spanName(c))
			s.SetAttributes(callAttributes(c)...)
		}
		return ctx, &Span{s: s}
	}
	ctx, s := tr.Start(ctx, spanName(c), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(callAttributes(c)...))
	return ctx, &Span{s: s}
}

// spanName is "{mcp.method.name} {target}".
func spanName(c Call) string {
	if c.Target != "" {
		return c.Method + " " + c.Target
	}
	return c.Method
}

// callAttributes are the MCP and GenAI attributes of a call's span.
func callAttributes(c Call) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs, attribute.String(AttrMCPMethodName, c.Method), attribute.String(AttrNetworkTransport, "tcp"),
		attribute.String(AttrNetworkProtocolName, "http"))
	switch c.Method {
	case "tools/call":
		attrs = append(attrs, attribute.String(AttrGenAIOperationName, OperationExecuteTool), attribute.String(AttrGenAIToolName, c.Target))
	case "prompts/get":
		attrs = append(attrs, attribute.String(AttrGenAIPromptName, c.Target))
	}
	if c.Session != "" {
		attrs = append(attrs, attribute.String(AttrMCPSessionID, c.Session))
	}
	if c.ProtocolVersion != "" {
		attrs = append(attrs, attribute.String(AttrMCPProtocolVersion, c.ProtocolVersion))
	}
	if c.RequestID != "" {
		attrs = append(attrs, attribute.String(AttrJSONRPCRequestID, c.RequestID))
	}
	if c.Server != "" {
		attrs = append(attrs, attribute.String(AttrBackend, c.Server))
	}
	if c.ServerAddress != "" {
		attrs = append(attrs, attribute.String(AttrServerAddress, c.ServerAddress))
	}
	return attrs
}

// TraceID returns the span's trace id in hex ("" when not sampled/valid),
// for audit.Record.TraceID.
func (s *Span) TraceID() string {
	if s == nil || !s.s.SpanContext().TraceID().IsValid() {
		return ""
	}
	return s.s.SpanContext().TraceID().String()
}

// Recording reports whether the span records attributes (false for nil and
// for the spans of an unconfigured or sampled-out tracer), so callers can
// skip building what it would drop.
func (s *Span) Recording() bool { return s != nil && s.s.IsRecording() }

// SetDecision records the gateway decision and risk on the span.
func (s *Span) SetDecision(d audit.Decision, risk int, rules []string) {
	if s == nil || !s.s.IsRecording() {
		return
	}
	s.s.SetAttributes(attribute.String(AttrDecision, d.String()), attribute.Int(AttrRisk, risk), attribute.StringSlice(AttrRules, rules))
}

// End ends the span. errorType is the JSON-RPC error code as a string,
// ErrorTypeTool for CallToolResult.isError, or "" on success; a non-empty
// value sets error.type and status Error (the message is not recorded).
func (s *Span) End(errorType string) {
	if s == nil {
		return
	}
	if errorType != "" {
		s.s.SetAttributes(attribute.String(AttrErrorType, errorType))
		if _, err := strconv.Atoi(errorType); err == nil {
			s.s.SetAttributes(attribute.String(AttrRPCResponseStatus, errorType))
		}
		s.s.SetStatus(codes.Error, "")
	}
	s.s.End()
}

// bounded maps open-ended label values to at most MaxLabelValues distinct
// values, the rest to "other".
type bounded struct {
	mu   sync.RWMutex
	max  int
	seen map[string]struct{}
}

func newBounded() *bounded { return newBoundedN(MaxLabelValues) }

func newBoundedN(n int) *bounded { return &bounded{max: n, seen: map[string]struct{}{}} }

// has reports whether v already has its own label value.
func (b *bounded) has(v string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.seen[v]
	return ok
}

func (b *bounded) value(v string) string {
	if v == "" {
		return "none"
	}
	b.mu.RLock()
	_, ok := b.seen[v]
	n := len(b.seen)
	b.mu.RUnlock()
	if ok {
		return v
	}
	if n >= b.max || len(v) > 64 {
		return "other"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) >= b.max {
		return "other"
	}
	b.seen[v] = struct{}{}
	return v
}
