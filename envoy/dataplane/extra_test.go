package dataplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

var bigBody = strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestMoreEdges: OK-close with queued STREAMED chunks, header preservation
// and hop-by-hop handling, no content sniffing.
func TestMoreEdges(t *testing.T) {
	cases := []matrixCase{
		{name: "server return nil with STREAMED chunks queued re-injects them unmodified", opts: envOpts{filter: mode(BodyStreamed, BodyNone)},
			script:  byKind(map[string]H{"req_body": func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) { return nil, errReturnNil }}),
			request: chunked([]string{"ab", "cd", ""}, []int{1, 2, 0}, nil),
			status:  200, upstreams: 1, upBody: ptr("abcd")},
		{name: "MCP headers preserved both ways, hop-by-hop dropped", opts: envOpts{filter: bufferedBoth, upstream: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Mcp-Session-Id", "sess-2")
			w.Header().Set("Connection", "X-Hop")
			w.Header().Set("X-Hop", "1")
			w.Header()["Content-Type"] = nil // upstream sends none; the proxy must not sniff one
			_, _ = io.WriteString(w, "{}")
		}},
			request: func(e *env) clientSaw {
				return e.post("/mcp/files", "{}", "Accept", "application/json, text/event-stream", "MCP-Protocol-Version", "2025-06-18",
					"Mcp-Session-Id", "sess-1", "Authorization", "Bearer x", "Connection", "X-Drop", "X-Drop", "1", "Expect", "")
			},
			status: 200, upstreams: 1, body: ptr("{}"),
			check: func(t *testing.T, e *env, g clientSaw) {
				u := e.upstream()[0].Header
				eq(t, "upstream headers", []string{u.Get("Accept"), u.Get("Mcp-Protocol-Version"), u.Get("Mcp-Session-Id"), u.Get("Authorization"), u.Get("X-Drop")},
					[]string{"application/json, text/event-stream", "2025-06-18", "sess-1", "Bearer x", ""})
				eq(t, "client session id", g.Header.Get("Mcp-Session-Id"), "sess-2")
				eq(t, "hop header dropped", g.Header.Get("X-Hop"), "")
				eq(t, "no sniffed content-type", g.Header["Content-Type"], []string(nil))
			}},
		{name: "send_body_without_waiting_for_header_response sends STREAMED chunks before the headers reply",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyStreamed}, SendBodyWithoutWaitingForHeaderResponse: true, AllowModeOverride: true}},
			script: func() script {
				var hdrs *extprocv3.ProcessingRequest
				return func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
					switch {
					case isType(req, "req_headers"):
						hdrs = req
						return nil, nil // answered only once the body has arrived
					case isType(req, "req_body"):
						// mode_override is ignored with send_body_without_waiting
						return append(overrideReply(hdrs, ProcessingMode{}), reply(req, common(setBody("B")))), nil
					}
					return cont(req), nil
				}
			}(),
			transcript: []string{"req_headers eos=false", `req_body "{\"a\":1}" eos=true`, "resp_headers 200 eos=false cl=36"},
			status:     200, upstreams: 1, upBody: ptr("B"),
			check: func(t *testing.T, e *env, _ clientSaw) {
				if !e.proc.requests()[0].GetProtocolConfig().GetSendBodyWithoutWaitingForHeaderResponse() {
					t.Error("protocol_config must announce send_body_without_waiting_for_header_response")
				}
			}},
		{name: "large STREAMED request under a small buffer limit arrives intact (watermarks, no deadlock)",
			opts: envOpts{filter: mode(BodyStreamed, BodyNone), limit: 64 << 10}, request: postTo("/mcp/files", bigBody),
			status: 200, upstreams: 1, upBody: ptr(bigBody)},
		{name: "large NONE request held during a slow headers reply arrives intact",
			opts: envOpts{filter: mode(BodyNone, BodyNone), limit: 64 << 10}, request: postTo("/mcp/files", bigBody),
			// the headers reply waits until the proxy paused reading the client
			script: byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return append([]*extprocv3.ProcessingResponse{act(func(e *env) { e.waitTrace(EventWatermark, "request") })}, cont(req)...), nil
			}}),
			status: 200, upstreams: 1, upBody: ptr(bigBody)},
		{name: "large STREAMED response under a small buffer limit arrives intact",
			opts: envOpts{filter: mode(BodyNone, BodyStreamed), limit: 64 << 10, upstream: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, bigBody)
			}},
			status: 200, upstreams: 1, body: ptr(bigBody)},
		{name: "upstream unreachable is 503 without ext_proc on the local reply", opts: envOpts{filter: bufferedBoth, routes: func(*url.URL) []Route {
			dead, _ := url.Parse("http://127.0.0.1:1/mcp")
			return []Route{{Name: "files", PathPrefix: "/mcp/files", Upstream: dead}}
		}},
			status: 503, upstreams: 0, transcript: []string{"req_headers eos=false cl=7", `req_body "{\"a\":1}" eos=true`},
			details: "upstream_reset_before_response_started{connection_failure}"},
	}
	runMatrix(t, cases)
}

// TestMTLSAttribute: the request attributes carry the client certificate's URI SAN.
func TestMTLSAttribute(t *testing.T) {
	e := newEnv(t, envOpts{filter: mode(BodyNone, BodyNone)}, continueAll)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	san, _ := url.Parse("spiffe://portcullis.test/host/a")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		URIs: []*url.URL{san}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewUnstartedServer(e.proxy)
	front.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	front.StartTLS()
	defer front.Close()
	tr := front.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}
	resp, err := (&http.Client{Transport: tr}).Get(front.URL + "/mcp/files")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eq(t, "status", resp.StatusCode, 200)
	first := e.proc.requests()[0]
	attrs := first.GetAttributes()["envoy.filters.http.ext_proc"].GetFields()
	eq(t, "uri san", attrs["connection.uri_san_peer_certificate"].GetStringValue(), san.String())
	v, _ := hdrVal(first.GetRequestHeaders().GetHeaders(), ":scheme")
	eq(t, ":scheme", v, "https")
	eq(t, "x-forwarded-proto upstream", e.upstream()[0].Header.Get("X-Forwarded-Proto"), "https")
}

// TestGoldenSSETranscript pins the exact ProcessingRequests (protojson) of the
// lead's main flow: BUFFERED JSON-RPC POST answered by an SSE stream switched
// to STREAMED with mode_override. Run with -update to rewrite.
func TestGoldenSSETranscript(t *testing.T) {
	var e *env
	e = newEnv(t, envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true},
		upstream: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header()["Date"] = nil
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n")
			w.(http.Flusher).Flush()
			e.waitMsgs(4) // end the stream only after the event went to the processor alone
		}},
		byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
			return overrideReply(req, ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyStreamed}, rmHdr("content-length")), nil
		}}))
	req, _ := http.NewRequest(http.MethodPost, e.front.URL+"/mcp/files", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", "s-1")
	req.Header.Set("User-Agent", "golden")
	got := e.do(req)
	if got.Err != nil || got.Status != 200 {
		t.Fatalf("%v %d", got.Err, got.Status)
	}
	var b strings.Builder
	for _, r := range e.proc.requests() {
		b.WriteString(goldenRender(r))
		b.WriteString("---\n")
	}
	norm := b.String()
	path := filepath.Join("testdata", "sse_override_transcript.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(norm), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != norm {
		t.Errorf("transcript differs from %s:\n%s", path, norm)
	}
}

var volatileHeaders = map[string]bool{":authority": true, "x-request-id": true, "date": true}

// goldenRender prints a ProcessingRequest readably (header values decoded),
// with per-run values (ports, request ids, dates) replaced by VOLATILE.
func goldenRender(r *extprocv3.ProcessingRequest) string {
	var b strings.Builder
	hdrs := func(kind string, h *extprocv3.HttpHeaders) {
		fmt.Fprintf(&b, "%s end_of_stream=%v\n", kind, h.GetEndOfStream())
		for _, v := range h.GetHeaders().GetHeaders() {
			val := string(v.GetRawValue())
			if volatileHeaders[v.GetKey()] {
				val = "VOLATILE"
			}
			fmt.Fprintf(&b, "  %s: %s (value=%q)\n", v.GetKey(), val, v.GetValue())
		}
	}
	switch v := r.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		hdrs("request_headers", v.RequestHeaders)
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		hdrs("response_headers", v.ResponseHeaders)
	case *extprocv3.ProcessingRequest_RequestBody:
		fmt.Fprintf(&b, "request_body end_of_stream=%v\n  %q\n", v.RequestBody.GetEndOfStream(), v.RequestBody.GetBody())
	case *extprocv3.ProcessingRequest_ResponseBody:
		fmt.Fprintf(&b, "response_body end_of_stream=%v\n  %q\n", v.ResponseBody.GetEndOfStream(), v.ResponseBody.GetBody())
	default:
		fmt.Fprintf(&b, "%T\n", v)
	}
	if pc := r.GetProtocolConfig(); pc != nil {
		fmt.Fprintf(&b, "protocol_config request_body_mode=%v response_body_mode=%v send_body_without_waiting=%v\n",
			pc.GetRequestBodyMode(), pc.GetResponseBodyMode(), pc.GetSendBodyWithoutWaitingForHeaderResponse())
	}
	if r.GetMetadataContext() != nil {
		b.WriteString("metadata_context {}\n")
	}
	for ns, st := range r.GetAttributes() {
		keys := make([]string, 0, len(st.GetFields()))
		for k := range st.GetFields() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "attribute %s[%s] = VOLATILE\n", ns, k)
		}
	}
	return b.String()
}

// TestHTTP2Downstream: the same flows over HTTP/2 (TLS) downstream: BUFFERED
// mutation, an SSE stream switched to STREAMED, and a mid-stream reset.
func TestHTTP2Downstream(t *testing.T) {
	e := newEnv(t, envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true},
		upstreamFor: func(e *env) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/mcp/sse" {
					sse{events: []string{"data: 1\n\n", "data: 2\n\n"}}.handler(e)(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, jsonResp)
			}
		}},
		func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
			switch {
			case isType(req, "req_body"):
				return []*extprocv3.ProcessingResponse{reply(req, common(setBody("{}"), setHdr("content-length", "2")))}, nil
			case isType(req, "resp_headers"):
				if v, _ := hdrVal(req.GetResponseHeaders().GetHeaders(), "content-type"); v == "text/event-stream" {
					return overrideReply(req, ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyStreamed}, rmHdr("content-length")), nil
				}
			case isType(req, "resp_body") && strings.Contains(string(req.GetResponseBody().GetBody()), "data: 2"):
				return []*extprocv3.ProcessingResponse{immediate(403, "no")}, nil
			}
			return cont(req), nil
		})
	front := httptest.NewUnstartedServer(e.proxy)
	front.EnableHTTP2 = true
	front.StartTLS()
	defer front.Close()
	c := front.Client()

	resp, err := c.Post(front.URL+"/mcp/files", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	eq(t, "proto", resp.ProtoMajor, 2)
	eq(t, "status", resp.StatusCode, 200)
	eq(t, "body", string(b), jsonResp)
	eq(t, "upstream body", e.upstream()[0].Body, "{}")

	resp, err = c.Post(front.URL+"/mcp/files/sse", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	eq(t, "sse status", resp.StatusCode, 200)
	eq(t, "first event before reset", string(b), "data: 1\n\n")
	if err == nil {
		t.Error("want a stream reset after the ImmediateResponse mid-SSE")
	}
}
