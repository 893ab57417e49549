package sentinel

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

func TestLogsIngestionWireFormatTokenAndRetry(t *testing.T) {
	var mu sync.Mutex
	tokenCalls, ingestCalls, accepted := 0, 0, 0
	var rows []map[string]any
	mux := http.NewServeMux()
	mux.HandleFunc("/tenant/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		require.Equal(t, "client_credentials", r.PostForm.Get("grant_type"))
		require.Equal(t, "app-id", r.PostForm.Get("client_id"))
		require.Equal(t, "s3cret", r.PostForm.Get("client_secret"))
		require.Equal(t, DefaultScope, r.PostForm.Get("scope"))
		mu.Lock()
		tokenCalls++
		n := tokenCalls
		mu.Unlock()
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"tok-%d"}`, n)
	})
	mux.HandleFunc("/dataCollectionRules/dcr-0123/streams/Custom-MCPGatewayDecisions_CL", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "2023-01-01", r.URL.Query().Get("api-version"))
		require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		b, _ := io.ReadAll(r.Body)
		require.LessOrEqual(t, len(b), MaxBytes)
		mu.Lock()
		defer mu.Unlock()
		ingestCalls++
		switch ingestCalls {
		case 1: // throttled
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case 2: // token revoked: the transport must fetch a new one
			require.Equal(t, "Bearer tok-1", r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		require.Equal(t, "Bearer tok-2", r.Header.Get("Authorization"))
		accepted++
		var batch []map[string]any
		require.NoError(t, json.Unmarshal(b, &batch), "body is a JSON array of rows")
		rows = append(rows, batch...)
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tr := New(srv.URL, "dcr-0123", "Custom-MCPGatewayDecisions_CL", srv.URL+"/tenant/oauth2/v2.0/token", "app-id", "s3cret\n", "", srv.Client())
	e, err := sink.New("sentinel", tr, sink.Options{SpoolDir: t.TempDir(), FlushInterval: 5 * time.Millisecond, InitialBackoff: time.Millisecond})
	require.NoError(t, err)
	rec := `{"seq":7,"time_dt":"2026-11-24T13:00:00Z","kind":"decision","action_id":2,"disposition":"Blocked","status":"Failure","risk_score":85,"risk_level":"High","actor":{"user":{"uid":"agent-1"},"session":{"uid":"s"}},"api":{"operation":"tools/call","service":{"name":"github"}},"resources":[{"name":"delete_repo"}],"policy":{"uid":"r9","version":"v3"},"unmapped":{"portcullis":{"decision":"block","plane":"request"}}}`
	e.WriteRecord([]byte(rec))
	e.WriteCheckpoint([]byte(`{"origin":"portcullis-audit/v1","size":7,"head":"ab","time":"2026-11-24T13:00:01Z"}`))
	require.Eventually(t, func() bool { return e.Stats().Sent == 2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e.Close())

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 2, tokenCalls)
	// One throttled and one unauthorized call, then one accepted call per
	// batch (the record and the checkpoint may be flushed together or, on
	// a loaded machine, separately).
	require.Equal(t, 2+accepted, ingestCalls)
	require.Contains(t, []int{1, 2}, accepted)
	require.Len(t, rows, 2)
	r := rows[0]
	for k, v := range map[string]any{"TimeGenerated": "2026-11-24T13:00:00Z", "EventType": "ToolCall", "DvcAction": "Deny", "EventResult": "Failure",
		"ThreatRiskLevel": float64(85), "ActorUsername": "agent-1", "TargetAppName": "github", "Operation": "tools/call", "ToolName": "delete_repo",
		"Decision": "block", "RuleIds": "r9", "AuditSeq": float64(7), "EventVendor": "Portcullis"} {
		require.Equal(t, v, r[k], k)
	}
	require.EqualValues(t, 7, r["RawEvent"].(map[string]any)["seq"])
	require.Equal(t, "AuditCheckpoint", rows[1]["EventType"])
	require.EqualValues(t, 7, rows[1]["CheckpointSize"])
}

func TestSendSplitsUnder1MB(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			io.WriteString(w, `{"access_token":"t","expires_in":3600}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		sizes = append(sizes, len(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tr := New(srv.URL, "d", "Custom-X_CL", srv.URL+"/token", "c", "s", "", srv.Client())
	big := `{"seq":1,"pad":"` + strings.Repeat("x", 300_000) + `"}`
	require.NoError(t, tr.Send(t.Context(), [][]byte{[]byte(big), []byte(big), []byte(big), []byte(big)}))
	require.GreaterOrEqual(t, len(sizes), 2)
	for _, s := range sizes {
		require.LessOrEqual(t, s, MaxBytes)
	}
}
