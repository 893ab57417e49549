package dataplane

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// rawClient is one kept-alive HTTP/1.1 connection driven byte by byte, so a
// test decides exactly which part of a body is on the wire when the proxy
// answers.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, e *env) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.front.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// Generous: only a safety net so a broken proxy fails instead of hanging.
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) write(s string) error {
	_, err := io.WriteString(rc.c, s)
	return err
}

// read returns the next response with its body, or the error that ended
// the connection.
func (rc *rawClient) read(method string) (*http.Response, string, error) {
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(b), err
}

const followUp = "GET /mcp/files/next HTTP/1.1\r\nHost: proxy\r\n\r\n"

// refuseHeaders answers POST request headers with a 413 (as the gateway
// does for an over-limit content-length) and lets everything else through.
func refuseHeaders(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
	if h := req.GetRequestHeaders(); h != nil {
		if m, _ := hdrVal(h.GetHeaders(), ":method"); m == http.MethodPost {
			return []*extprocv3.ProcessingResponse{immediate(413, `{"error":"too large"}`, "content-type", "application/json")}, nil
		}
	}
	return cont(req), nil
}

// checkFollowUp reads what the connection yields for followUp after a first
// reply: a clean close if that reply said "Connection: close", else the
// upstream's answer to the follow-up — never a parse error of body bytes.
func checkFollowUp(t *testing.T, rc *rawClient, e *env, first *http.Response) {
	t.Helper()
	resp, body, err := rc.read(http.MethodGet)
	if first.Close {
		if err == nil {
			t.Fatalf("connection announced close but answered the follow-up: %d %q", resp.StatusCode, body)
		}
		return
	}
	if err != nil {
		t.Fatalf("kept-alive connection failed the follow-up: %v", err)
	}
	if resp.StatusCode != http.StatusOK || body != jsonResp {
		t.Fatalf("follow-up on the kept-alive connection got %d %q, want 200 from the upstream", resp.StatusCode, body)
	}
	up := e.upstream()
	if len(up) == 0 || up[len(up)-1].Path != "/mcp/next" {
		t.Fatalf("upstream did not receive the follow-up: %+v", up)
	}
}

// Issue 15: a reply sent before the request body was read must not leave the
// rest of the body on a kept-alive connection, where net/http (full-duplex
// mode) would parse it as the next request and answer "400 Bad Request".
func TestEarlyReplyKeepsConnectionInSync(t *testing.T) {
	body := strings.Repeat("a", 70000)
	chunkedBody := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(s), s) }
	cases := []struct {
		name string
		head string // request line and headers
		body string // the complete body as framed on the wire
		// split: bytes of body sent before the reply is read; the rest
		// follows together with the follow-up request.
		split int
		opts  envOpts
		sc    script
		want  int
		// wantClose: the first reply must say "Connection: close".
		wantClose bool
	}{
		{name: "refusal at headers, content-length body still arriving",
			head: "POST /mcp/files HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n",
			body: body, split: 1000, opts: envOpts{filter: mode(BodyBuffered, BodyNone)}, sc: refuseHeaders, want: 413, wantClose: true},
		{name: "refusal at headers, chunked body still arriving",
			head: "POST /mcp/files HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
			body: chunkedBody(body), split: 1000, opts: envOpts{filter: mode(BodyBuffered, BodyNone)}, sc: refuseHeaders, want: 413, wantClose: true},
		{name: "refusal at headers, whole body already sent",
			head: "POST /mcp/files HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n",
			body: body, split: 70000, opts: envOpts{filter: mode(BodyBuffered, BodyNone)}, sc: refuseHeaders, want: 413},
		{name: "buffer limit exceeded mid-body",
			head: "POST /mcp/files HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n",
			body: body, split: 40000, opts: envOpts{filter: mode(BodyBuffered, BodyNone), limit: 32 << 10}, sc: continueAll, want: 413, wantClose: true},
		{name: "upstream answers before reading the body",
			head: "POST /mcp/files HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n",
			body: body, split: 1000, sc: continueAll, want: 200,
			opts: envOpts{filter: mode(BodyNone, BodyNone), upstreamKeepsBody: true, upstream: func(w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				_ = rc.EnableFullDuplex()
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(jsonResp))) // complete once written
				_, _ = io.WriteString(w, jsonResp)
				_ = rc.Flush()
				// Then consume the body: left to net/http, reaching its end
				// inside the server's own cleanup trips a net/http quirk
				// ("invalid concurrent Body.Read call") in this test upstream.
				_, _ = io.Copy(io.Discard, r.Body)
			}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.opts, tc.sc)
			rc := dialRaw(t, e)
			if err := rc.write(tc.head + tc.body[:tc.split]); err != nil {
				t.Fatal(err)
			}
			first, _, err := rc.read(http.MethodPost)
			if err != nil {
				t.Fatalf("first reply: %v", err)
			}
			eq(t, "first status", first.StatusCode, tc.want)
			if tc.wantClose && !first.Close {
				t.Errorf("reply sent before the body was complete lacks Connection: close (header %q)", first.Header.Get("Connection"))
			}
			// The rest of the body and a pipelined follow-up; a write error
			// means the proxy already closed, which checkFollowUp accepts.
			_ = rc.write(tc.body[tc.split:] + followUp)
			checkFollowUp(t, rc, e, first)
		})
	}
}

// A client that stops sending mid-body after an early refusal gets its
// reply and then a closed connection, not a handler stuck on the body.
func TestEarlyReplyStalledBodyClosesConnection(t *testing.T) {
	e := newEnv(t, envOpts{filter: mode(BodyBuffered, BodyNone)}, refuseHeaders)
	rc := dialRaw(t, e)
	if err := rc.write("POST /mcp/files HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("a", 100)); err != nil {
		t.Fatal(err)
	}
	first, _, err := rc.read(http.MethodPost)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "status", first.StatusCode, 413)
	if !first.Close {
		t.Error("reply lacks Connection: close")
	}
	if _, err := rc.br.ReadByte(); err == nil {
		t.Fatal("the proxy sent more bytes after a Connection: close reply")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the proxy never closed the connection")
	}
}

// A malformed chunked body is refused with 400 and the connection closed,
// instead of an empty 200 from net/http.
func TestMalformedChunkedBodyIsRefused(t *testing.T) {
	e := newEnv(t, envOpts{filter: mode(BodyBuffered, BodyNone)}, continueAll)
	rc := dialRaw(t, e)
	if err := rc.write("POST /mcp/files HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, _, err := rc.read(http.MethodPost)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "status", resp.StatusCode, 400)
	eq(t, "upstream requests", len(e.upstream()), 0)
	if _, _, err := rc.read(http.MethodGet); err == nil {
		t.Fatal("connection with a broken body stayed open")
	}
}
