package otlp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

func TestOTLPWireFormatAndRetry(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	var got []*logspb.LogRecord
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/logs", r.URL.Path)
		require.Equal(t, "application/x-protobuf", r.Header.Get("Content-Type"))
		require.Equal(t, "Bearer abc", r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var req collogspb.ExportLogsServiceRequest
		require.NoError(t, proto.Unmarshal(b, &req))
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				got = append(got, sl.LogRecords...)
			}
		}
		out, _ := proto.Marshal(&collogspb.ExportLogsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	defer srv.Close()

	tr, err := New(t.Context(), srv.URL+"/v1/logs", map[string]string{"Authorization": "Bearer abc"}, 5*time.Second)
	require.NoError(t, err)
	defer tr.Close(t.Context())
	e, err := sink.New("otlp", tr, sink.Options{SpoolDir: t.TempDir(), FlushInterval: 5 * time.Millisecond, InitialBackoff: time.Millisecond})
	require.NoError(t, err)
	rec := `{"seq":3,"kind":"decision","time":1764000000123,"class_uid":6003,"action_id":2,"disposition":"Blocked","api":{"operation":"tools/call","service":{"name":"github"}},"resources":[{"name":"delete_repo"}],"trace":{"uid":"4bf92f3577b34da6a3ce929d0e0e4736"},"unmapped":{"portcullis":{"decision":"block"}}}`
	e.WriteRecord([]byte(rec))
	e.WriteCheckpoint([]byte(`{"origin":"portcullis-audit/v1","size":3,"head":"ab","time":"2026-11-24T13:00:01Z"}`))
	require.Eventually(t, func() bool { return e.Stats().Sent == 2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e.Close())

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 2, attempts, "503 retried once")
	require.Len(t, got, 2)
	lr := got[0]
	require.Equal(t, "portcullis.audit.decision", lr.EventName)
	require.EqualValues(t, time.UnixMilli(1764000000123).UnixNano(), lr.TimeUnixNano)
	require.Equal(t, logspb.SeverityNumber_SEVERITY_NUMBER_WARN, lr.SeverityNumber)
	require.Equal(t, rec, lr.Body.GetStringValue())
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", hexOf(lr.TraceId))
	attrs := map[string]string{}
	for _, kv := range lr.Attributes {
		attrs[kv.Key] = kv.Value.GetStringValue()
	}
	require.Equal(t, "tools/call", attrs["mcp.method.name"])
	require.Equal(t, "delete_repo", attrs["gen_ai.tool.name"])
	require.Equal(t, "block", attrs["portcullis.decision"])
	require.Equal(t, "portcullis.audit.checkpoint", got[1].EventName)
}

func hexOf(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&0xf])
	}
	return string(out)
}
