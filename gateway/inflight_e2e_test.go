package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// Issue 11 #23: the request bytes held at once are capped across requests.
// One large call is held by the upstream; a second one that would pass
// limits.max_inflight_bytes is answered 503 with a JSON-RPC error before it
// is read and never reaches the upstream; once the first finishes, the
// budget is back and the next call goes through.
func TestInflightBytesCapped(t *testing.T) {
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	up := newRecorder(t, func(w http.ResponseWriter, _ *http.Request, body string) {
		if strings.Contains(body, `"hold"`) {
			entered <- struct{}{}
			<-release
		}
		id := "1"
		if i := strings.Index(body, `"id":`); i >= 0 {
			id = strings.SplitN(body[i+5:], ",", 2)[0]
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"ok"}]}}`, id)
	})
	auditDir := filepath.Join(t.TempDir(), "audit")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}
limits: {max_body_bytes: 65536, max_inflight_bytes: 100000}
servers:
  - {name: up, url: %s/mcp, tools: {allow: ["*"]}}
audit: {dir: %s, commit: {interval: 5ms}}
`, up.srv.URL, auditDir)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	url := "http://" + gw.ProxyAddr() + "/mcp/up"
	call := func(id int, tool string) string {
		pad := strings.Repeat("The quarterly report lists revenue by region. ", 1300) // ~60 KB: two do not fit in 100,000 bytes
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"pad":%q}}}`, id, tool, pad)
	}

	type answer struct {
		status int
		body   string
	}
	first := make(chan answer, 1)
	go func() {
		st, _, b := postRaw(t, url, call(1, "hold"), nil)
		first <- answer{st, string(b)}
	}()
	select {
	case <-entered: // the first call's bytes are in flight (held by the upstream)
	case a := <-first:
		t.Fatalf("first call answered before it reached the upstream: %d %s", a.status, a.body)
	}

	st, hdr, body := postRaw(t, url, call(2, "next"), nil)
	if st != http.StatusServiceUnavailable || !strings.Contains(string(body), "limits.max_inflight_bytes") || !strings.Contains(string(body), `"jsonrpc":"2.0"`) {
		t.Fatalf("second call: %d %s, want 503 with a JSON-RPC error naming limits.max_inflight_bytes", st, body)
	}
	if hdr.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if up.received(`"next"`) {
		t.Fatal("the refused call reached the upstream")
	}

	close(release)
	if a := <-first; a.status != http.StatusOK {
		t.Fatalf("first call: %d %s", a.status, a.body)
	}
	if st, _, body := postRaw(t, url, call(3, "next"), nil); st != http.StatusOK {
		t.Fatalf("call after the budget came back: %d %s", st, body)
	}
	// the refusal is one audit record, like the data plane's own replies
	_ = gw.Close()
	if n := strings.Count(readAll(t, auditDir), `"rule_ids":["dataplane:inflight-limit"]`); n != 1 {
		t.Fatalf("%d audit records of the in-flight refusal, want 1:\n%s", n, readAll(t, auditDir))
	}
}

func TestInflightConfigValidated(t *testing.T) {
	_, err := config.Parse([]byte(`
listen: {proxy: 127.0.0.1:0}
limits: {max_body_bytes: 65536, max_inflight_bytes: 1000}
servers: [{name: up, url: "http://127.0.0.1:1/mcp"}]
`))
	if err == nil || !strings.Contains(err.Error(), "limits.max_inflight_bytes") {
		t.Fatalf("err = %v, want a limits.max_inflight_bytes problem", err)
	}
}
