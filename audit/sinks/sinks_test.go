package sinks

import (
	"bytes"
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
	cfg := audit.Config{Dir: dir, Sinks: []audit.SinkConfig{{Name: "splunk", Type: "splunk", URL: srv.URL, SecretFile: tok, Checkpoints: new(true)}}}
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

// Content-free mode end to end over every sink type: canaries in the
// record's content never reach any wire body, while the records do.
func TestCanaryNeverReachesAnySink(t *testing.T) {
	const canary = "CANARY-ALLSINKS-5150"
	var mu sync.Mutex
	var wire []byte
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		wire = append(wire, b...)
		if bytes.Contains(b, []byte("marker_tool")) {
			paths[r.URL.Path]++
		}
		mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/token"):
			io.WriteString(w, `{"access_token":"t","expires_in":3600}`)
		case r.URL.Path == "/v1/logs":
			w.Header().Set("Content-Type", "application/x-protobuf")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	secrets := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(secrets, name)
		require.NoError(t, os.WriteFile(p, []byte(v), 0o600))
		return p
	}
	cfg := audit.Config{Dir: t.TempDir(), Sinks: []audit.SinkConfig{
		{Name: "hook", Type: "webhook", URL: srv.URL + "/hook", SecretFile: write("wh", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
		{Name: "splunk", Type: "splunk", URL: srv.URL, SecretFile: write("hec", "tok")},
		{Name: "sentinel", Type: "sentinel", URL: srv.URL, DCRID: "d", Stream: "Custom-X_CL", TokenURL: srv.URL + "/token", ClientID: "c", SecretFile: write("cs", "s")},
		{Name: "otlp", Type: "otlp", URL: srv.URL + "/v1/logs"},
	}}
	cfg.ApplyDefaults()
	for i := range cfg.Sinks {
		cfg.Sinks[i].FlushInterval = 10 * time.Millisecond
	}
	require.NoError(t, cfg.Validate())
	ss, err := Open(t.Context(), cfg, nil)
	require.NoError(t, err)
	l, err := audit.Open(cfg, audit.WithSinks(ss...))
	require.NoError(t, err)
	for _, p := range []audit.Plane{audit.PlaneRequest, audit.PlaneResult} {
		r := audit.NewRecord(p, audit.DecisionRedact)
		r.Tool = "marker_tool"
		r.ArgsDigest = l.Digest([]byte(canary))
		r.Content = &audit.Content{Arguments: canary, Result: canary, Error: canary}
		require.NoError(t, l.Append(r))
	}
	require.NoError(t, l.Close())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, paths, 4, "records reached all four sinks: %v", paths)
	require.GreaterOrEqual(t, strings.Count(string(wire), "marker_tool"), 8)
	require.NotContains(t, string(wire), canary)
}
