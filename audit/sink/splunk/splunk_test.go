package splunk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/audit/sink"
)

func TestHECWireFormatAndRetry(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/services/collector/event", r.URL.Path)
		require.Equal(t, "Splunk 11111111-2222-3333-4444-555555555555", r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"text":"Server is busy","code":9}`)
			return
		}
		bodies = append(bodies, b)
		io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	tr := New(srv.URL+"/", "11111111-2222-3333-4444-555555555555\n", "mcp", "", "", srv.Client())
	tr.Host = "gw-1"
	e, err := sink.New("splunk", tr, sink.Options{SpoolDir: t.TempDir(), FlushInterval: 5 * time.Millisecond, InitialBackoff: time.Millisecond})
	require.NoError(t, err)
	e.WriteRecord([]byte(`{"seq":1,"time":1764000000123,"class_uid":6003}`))
	e.WriteRecord([]byte(`{"seq":2,"time":1764000000456,"class_uid":6003}`))
	require.Eventually(t, func() bool { return e.Stats().Sent == 2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, e.Close())

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 3, attempts, "two 503s retried, then accepted")
	var all []byte
	for _, b := range bodies {
		all = append(append(all, b...), '\n')
	}
	sc := bufio.NewScanner(bytes.NewReader(all))
	var envs []map[string]any
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "each envelope is one JSON object: %s", sc.Bytes())
		envs = append(envs, m)
	}
	require.Len(t, envs, 2)
	require.Equal(t, `{"time":1764000000.123,"host":"gw-1","source":"portcullis","sourcetype":"_json","index":"mcp","event":{"seq":1,"time":1764000000123,"class_uid":6003}}`,
		string(tr.Envelope(nil, []byte(`{"seq":1,"time":1764000000123,"class_uid":6003}`))))
	require.EqualValues(t, 2, envs[1]["event"].(map[string]any)["seq"])
}

func TestHECBatchLimit(t *testing.T) {
	tr := New("http://x", "t", "", "", "", nil)
	lim := tr.Limits()
	require.Equal(t, MaxBytes, lim.MaxBytes)
	require.Equal(t, MaxEvents, lim.MaxEvents)
}
