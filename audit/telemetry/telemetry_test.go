package telemetry

import (
	"context"
	"errors"
	"go.opentelemetry.io/otel/trace/noop"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis-mcp/portcullis/audit"
)

// TestSemconvNamesPinned pins every attribute name we emit against the
// OpenTelemetry semantic conventions package, so a rename upstream is a
// deliberate change here.
func TestSemconvNamesPinned(t *testing.T) {
	pins := []struct {
		ours string
		key  attribute.Key
	}{
		{AttrMCPMethodName, semconv.McpMethodNameKey},
		{AttrMCPSessionID, semconv.McpSessionIDKey},
		{AttrMCPProtocolVersion, semconv.McpProtocolVersionKey},
		{AttrJSONRPCRequestID, semconv.JSONRPCRequestIDKey},
		{AttrJSONRPCVersion, semconv.JSONRPCProtocolVersionKey},
		{AttrGenAIOperationName, semconv.GenAIOperationNameKey},
		{AttrGenAIToolName, semconv.GenAIToolNameKey},
		{AttrGenAIPromptName, semconv.GenAIPromptNameKey},
		{AttrErrorType, semconv.ErrorTypeKey},
		{AttrRPCResponseStatus, semconv.RPCResponseStatusCodeKey},
		{AttrNetworkTransport, semconv.NetworkTransportKey},
		{AttrNetworkProtocolName, semconv.NetworkProtocolNameKey},
		{AttrServerAddress, semconv.ServerAddressKey},
	}
	for _, p := range pins {
		t.Run(p.ours, func(t *testing.T) { require.Equal(t, string(p.key), p.ours) })
	}
	require.Equal(t, semconv.GenAIOperationNameExecuteTool.Value.AsString(), OperationExecuteTool)
	// Our own names stay in our namespace.
	for _, custom := range []string{AttrBackend, AttrDecision, AttrRisk, AttrRules} {
		require.True(t, strings.HasPrefix(custom, "portcullis."), custom)
	}
}

func TestStartCallSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel := New(WithTracerProvider(tp))

	tests := []struct {
		name      string
		call      Call
		errorType string
		spanName  string
		want      map[string]string
		absent    []string
	}{
		{"tool call", Call{Method: "tools/call", Target: "create_issue", Session: "s-1", ProtocolVersion: "2025-06-18", RequestID: "7", Server: "github"},
			"", "tools/call create_issue",
			map[string]string{AttrMCPMethodName: "tools/call", AttrGenAIOperationName: "execute_tool", AttrGenAIToolName: "create_issue",
				AttrMCPSessionID: "s-1", AttrMCPProtocolVersion: "2025-06-18", AttrJSONRPCRequestID: "7", AttrBackend: "github", AttrDecision: "block"},
			[]string{AttrErrorType, AttrGenAIPromptName}},
		{"tool error", Call{Method: "tools/call", Target: "t", RequestID: "8"}, ErrorTypeTool, "tools/call t",
			map[string]string{AttrErrorType: "tool_error"}, []string{AttrRPCResponseStatus}},
		{"json-rpc error", Call{Method: "tools/list", RequestID: "9"}, "-32602", "tools/list",
			map[string]string{AttrErrorType: "-32602", AttrRPCResponseStatus: "-32602"}, []string{AttrGenAIOperationName, AttrGenAIToolName}},
		{"prompt", Call{Method: "prompts/get", Target: "p"}, "", "prompts/get p",
			map[string]string{AttrGenAIPromptName: "p"}, []string{AttrJSONRPCRequestID, AttrGenAIOperationName}},
	}
	// The default tracer's path (no provider fixed, no exporter) names and
	// describes the span after starting it, when it records.
	def := New()
	def.tracer = tp.Tracer(TracerName)
	parentTrace := "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, v := range []struct {
		name string
		tel  *Telemetry
	}{{"fixed provider", tel}, {"default tracer", def}} {
		for _, tc := range tests {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				h := http.Header{}
				h.Set("traceparent", "00-"+parentTrace+"-00f067aa0ba902b7-01")
				_, span := v.tel.StartCall(context.Background(), propagation.HeaderCarrier(h), tc.call)
				require.Equal(t, parentTrace, span.TraceID(), "continues the incoming W3C trace")
				span.SetDecision(audit.DecisionBlock, 80, []string{"r1"})
				span.End(tc.errorType)
				spans := rec.Ended()
				s := spans[len(spans)-1]
				require.Equal(t, tc.spanName, s.Name())
				require.Equal(t, trace.SpanKindServer, s.SpanKind())
				require.Equal(t, "00f067aa0ba902b7", s.Parent().SpanID().String())
				got := map[string]string{}
				for _, kv := range s.Attributes() {
					got[string(kv.Key)] = kv.Value.Emit()
				}
				for k, v := range tc.want {
					require.Equal(t, v, got[k], k)
				}
				for _, k := range tc.absent {
					require.NotContains(t, got, k)
				}
				if tc.errorType != "" {
					require.Equal(t, codes.Error, s.Status().Code)
				}
			})
		}
	}
}

func TestNilTelemetryIsNoop(t *testing.T) {
	var tel *Telemetry
	ctx, span := tel.StartCall(context.Background(), nil, Call{Method: "tools/call"})
	require.NotNil(t, ctx)
	span.SetDecision(audit.DecisionAllow, 0, nil)
	span.End("")
	require.Empty(t, span.TraceID())
	tel.Decision("s", audit.PlaneRequest, audit.DecisionAllow)
	tel.Phase("total", time.Millisecond)
	tel.DetectorHits("email", 1)
	tel.SinkError("x")
	tel.PolicyReload(nil)
	tel.AuditFsync(time.Millisecond, 1)
	tel.AuditQueueDepth(1)
	tel.AuditDropped(1)
	require.Nil(t, tel.Registry())
}

func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	srv := httptest.NewServer(tel.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestMetricsExposed(t *testing.T) {
	tel := New()
	tel.Decision("github", audit.PlaneRequest, audit.DecisionBlock)
	tel.Decision("github", audit.PlaneRequest, audit.DecisionBlock)
	tel.Phase("policy", 300*time.Microsecond)
	tel.DetectorHits("secret.aws_key", 3)
	tel.AuditQueueDepth(5)
	tel.AuditFsync(200*time.Microsecond, 64)
	tel.AuditDropped(2)
	tel.SinkError("splunk")
	tel.PolicyReload(nil)
	tel.PolicyReload(errors.New("bad"))
	out := scrape(t, tel)
	for _, want := range []string{
		`portcullis_decisions_total{decision="block",plane="request",server="github"} 2`,
		`portcullis_phase_duration_seconds_bucket{phase="policy",le="0.0005"} 1`,
		`portcullis_detector_hits_total{type="secret.aws_key"} 3`,
		`portcullis_audit_queue_depth 5`,
		`portcullis_audit_fsync_duration_seconds_count 1`,
		`portcullis_audit_fsync_records_sum 64`,
		`portcullis_audit_dropped_total 2`,
		`portcullis_sink_errors_total{sink="splunk"} 1`,
		`portcullis_policy_reloads_total{result="error"} 1`,
		`portcullis_policy_reloads_total{result="ok"} 1`,
	} {
		require.Contains(t, out, want)
	}
}

func TestLabelValuesBounded(t *testing.T) {
	tel := New()
	for i := 0; i < 3*MaxLabelValues; i++ {
		tel.DetectorHits(strings.Repeat("x", i%70+1)+string(rune('a'+i%26)), 1)
	}
	tel.Decision(strings.Repeat("s", 100), audit.PlaneResult, audit.DecisionAllow)
	out := scrape(t, tel)
	require.LessOrEqual(t, strings.Count(out, "portcullis_detector_hits_total{"), MaxLabelValues+1)
	require.Contains(t, out, `portcullis_detector_hits_total{type="other"}`)
	require.Contains(t, out, `server="other"`)
}

// TestStartCallUnrecorded: with the default tracer and no provider, the
// span records nothing but still continues the incoming trace (its id goes
// to the audit record).
func TestStartCallUnrecorded(t *testing.T) {
	tel := New()
	tel.tracer = noop.NewTracerProvider().Tracer(TracerName)
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	_, span := tel.StartCall(context.Background(), propagation.HeaderCarrier(h), Call{Method: "tools/call", Target: "x"})
	require.False(t, span.Recording())
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", span.TraceID())
	span.End("")
}
