package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// Data-plane regressions through the whole gateway: what the client got,
// what the upstream received.

// dpRecorder is an upstream that answers every JSON-RPC request with an empty
// result and keeps each request's target, headers and body.
type dpRecorder struct {
	mu   sync.Mutex
	reqs []dpRecorded
}

type dpRecorded struct {
	target string
	header http.Header
	body   string
}

func (r *dpRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, dpRecorded{target: req.RequestURI, header: req.Header.Clone(), body: string(b)})
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
}

func (r *dpRecorder) all() []dpRecorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dpRecorded(nil), r.reqs...)
}

func startRecorderGateway(t *testing.T) (base string, rec *dpRecorder) {
	t.Helper()
	rec = &dpRecorder{}
	up := httptest.NewServer(rec)
	t.Cleanup(up.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}
limits: {max_body_bytes: 65536}
servers:
  - {name: files, url: %s/mcp, tools: {allow: ["*"]}}
`, up.URL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return gw.ProxyAddr(), rec
}

// rawExchange sends raw bytes on a fresh connection and reads one response.
func rawExchange(t *testing.T, addr, raw string) (*http.Response, string, *bufio.Reader, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // safety net only
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(b), br, c
}

func jsonRPCCode(t *testing.T, body string) int {
	t.Helper()
	var m struct {
		Error struct{ Code int } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON-RPC error: %q", body)
	}
	return m.Error.Code
}

// Issue 11 #16: a path that climbs out of the server's path, smuggles a
// fragment or an encoded slash is refused with a JSON-RPC 400, and the
// upstream receives nothing.
func TestE2EPathEscapeRefused(t *testing.T) {
	addr, rec := startRecorderGateway(t)
	const ping = `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	for _, p := range []string{"/mcp/files/../x", "/mcp/evil/../files", "/mcp/evil#/../../x", "/mcp/files/%2e%2e/x", "/mcp/files/%2E%2e/%2e%2e/x", "/mcp/files/a%2fb", "/mcp/files/a%5Cb", "/mcp/files/./x"} {
		t.Run(p, func(t *testing.T) {
			raw := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", p, addr, len(ping), ping)
			resp, body, _, _ := rawExchange(t, addr, raw)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if c := jsonRPCCode(t, body); c != -32600 {
				t.Fatalf("code %d: %s", c, body)
			}
			if n := len(rec.all()); n != 0 {
				t.Fatalf("upstream received %d requests: %+v", n, rec.all())
			}
		})
	}
	// A well-formed path below the server's still works and arrives canonical.
	raw := fmt.Sprintf("POST /mcp/files//sub/%%7Ex HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(ping), ping)
	resp, body, _, _ := rawExchange(t, addr, raw)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := rec.all(); len(got) != 1 || got[0].target != "/mcp/sub/~x" {
		t.Fatalf("upstream saw %+v, want one request to /mcp/sub/~x", got)
	}
}

// Issue 11 #17: a GET that carries a body is refused before anything is
// forwarded.
func TestE2EGetWithBodyRefused(t *testing.T) {
	addr, rec := startRecorderGateway(t)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file","arguments":{"path":"x"}}}`
	raw := fmt.Sprintf("GET /mcp/files HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
	resp, got, _, _ := rawExchange(t, addr, raw)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(got, "must not carry a body") {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if n := len(rec.all()); n != 0 {
		t.Fatalf("upstream received %+v", rec.all())
	}
}

// Issue 11 #1 (configuration side): the upstream is never asked for a
// compressed body.
func TestE2EAcceptEncodingNotForwarded(t *testing.T) {
	addr, rec := startRecorderGateway(t)
	status, body := post(t, "http://"+addr+"/mcp/files", "application/json", `{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		map[string]string{"Accept-Encoding": "gzip, br, zstd"})
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	got := rec.all()
	if len(got) != 1 {
		t.Fatalf("upstream saw %d requests", len(got))
	}
	if v := got[0].header.Values("Accept-Encoding"); len(v) != 0 {
		t.Fatalf("upstream was offered encodings %q", v)
	}
}

// Issue 15: after the processor refuses an oversized body at header time,
// the rest of the body must not be read as the next request on the
// connection (it used to come back as a plain-text 400).
func TestE2EOversizedBodyRefusalKeepsConnectionSane(t *testing.T) {
	addr, rec := startRecorderGateway(t)
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", 70000) + `"}}`
	head := fmt.Sprintf("POST /mcp/files HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(big))
	resp, body, br, c := rawExchange(t, addr, head+big[:2000])
	if resp.StatusCode != http.StatusRequestEntityTooLarge || jsonRPCCode(t, body) != -32600 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Fatal("a refusal sent before the body was read must close the connection")
	}
	follow := fmt.Sprintf("POST /mcp/files HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", addr)
	_, _ = io.WriteString(c, big[2000:]+follow)
	if r2, err := http.ReadResponse(br, nil); err == nil {
		b, _ := io.ReadAll(r2.Body)
		t.Fatalf("the closed connection answered again: %d %s", r2.StatusCode, b)
	}
	// And through a pooled keep-alive client, request after request.
	for i := 0; i < 20; i++ {
		if st, b := post(t, "http://"+addr+"/mcp/files", "application/json", big, nil); st != http.StatusRequestEntityTooLarge {
			t.Fatalf("round %d: oversized body got %d %s", i, st, b)
		}
		if st, b := post(t, "http://"+addr+"/mcp/files", "text/plain", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil); st != http.StatusUnsupportedMediaType || !json.Valid(b) {
			t.Fatalf("round %d: the next request got %d %q", i, st, b)
		}
	}
	if n := len(rec.all()); n != 0 {
		t.Fatalf("upstream received %d requests", n)
	}
}
