package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-mcp/portcullis/audit"
)

// Spans reach an OTLP/HTTP collector with the pinned names.
func TestOTLPTraceExport(t *testing.T) {
	var mu sync.Mutex
	got := map[string]map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/traces", r.URL.Path)
		b, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		require.NoError(t, proto.Unmarshal(b, &req))
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					attrs := map[string]string{}
					for _, kv := range s.Attributes {
						attrs[kv.Key] = kv.Value.GetStringValue()
					}
					got[s.Name] = attrs
				}
			}
		}
		mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	defer srv.Close()
	tel := New()
	require.NoError(t, tel.ConfigureTracing(t.Context(), TraceConfig{Exporter: ExporterOTLP, OTLPURL: srv.URL + "/v1/traces", SampleRatio: 1}))
	_, span := tel.StartCall(context.Background(), propagation.MapCarrier{}, Call{Method: "tools/call", Target: "create_issue", Session: "s1", RequestID: "3"})
	span.SetDecision(audit.DecisionAllow, 5, nil)
	span.End("")
	require.NoError(t, tel.Shutdown(t.Context())) // flushes the batch
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, got, "tools/call create_issue")
	a := got["tools/call create_issue"]
	require.Equal(t, "execute_tool", a[AttrGenAIOperationName])
	require.Equal(t, "create_issue", a[AttrGenAIToolName])
	require.Equal(t, "s1", a[AttrMCPSessionID])
	require.Equal(t, "3", a[AttrJSONRPCRequestID])
	require.Equal(t, "allow", a[AttrDecision])
}
