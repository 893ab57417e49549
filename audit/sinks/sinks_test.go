package sinks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/audit"
)

// End to end: audit.Log -> sinks.Open -> Splunk HEC fake, with content-free
// canaries kept out of the wire too.
func TestOpenAndDeliverThroughLog(t *testing.T) {
	var mu sync.Mutex
	var body strings.Builder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		body.Write(b)
		mu.Unlock()
		io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	tok := filepath.Join(t.TempDir(), "hec")
	require.NoError(t, os.WriteFile(tok, []byte("tok\n"), 0o600))
	cfg := audit.Config{Dir: dir, Sinks: []audit.SinkConfig{{Name: "splunk", Type: "splunk", URL: srv.URL, SecretFile: tok, Checkpoints: true}}}
	cfg.ApplyDefaults()
	cfg.Sinks[0].FlushInterval = 10 * time.Millisecond
	require.NoError(t, cfg.Validate())
	ss, err := Open(t.Context(), cfg, nil)
	require.NoError(t, err)
	l, err := audit.Open(cfg, audit.WithSinks(ss...))
	require.NoError(t, err)
	r := audit.NewRecord(audit.PlaneRequest, audit.DecisionBlock)
	r.Tool = "delete_repo"
	r.Content = &audit.Content{Arguments: "CANARY-WIRE-1234"}
	require.NoError(t, l.Append(r))
	require.NoError(t, l.Sync())
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(body.String(), "delete_repo")
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, l.Close()) // final checkpoint pushed on close
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, body.String(), `"origin":"portcullis-audit/v1"`)
	require.NotContains(t, body.String(), "CANARY-WIRE-1234")
}

func TestOpenReportsBadSinks(t *testing.T) {
	cfg := audit.Config{Dir: t.TempDir(), Sinks: []audit.SinkConfig{
		{Name: "w", Type: "webhook", URL: "http://127.0.0.1:1", SecretFile: filepath.Join(t.TempDir(), "missing")},
	}}
	cfg.ApplyDefaults()
	_, err := Open(t.Context(), cfg, nil)
	require.ErrorContains(t, err, "audit.sinks[0] (w): secret_file")
}
