package dataplane

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
)

// Processor faults (issue 15): the ext_proc server dies or stalls while a
// body is streaming. The data plane must fail closed as Envoy does with
// failure_mode_allow=false — the client gets an error, nothing the processor
// did not release reaches the upstream or the client — and must work again
// once the processor is back. Nothing here waits on the wall clock to order
// events: the processor signals what it received, the test then acts, and
// message timers run on the env's fake clock.

// killableProc serves the env's fake processor over real TCP so the test can
// kill it like kill -9 would: every connection is reset (no gRPC status, no
// GOAWAY), the listener disappears, and a later restart binds the same
// address.
type killableProc struct {
	t     *testing.T
	addr  string
	mu    sync.Mutex
	lis   net.Listener
	gs    *grpc.Server
	conns []net.Conn
	dead  chan struct{} // closed by kill; scripts blocked on it return
}

func newKillableProc(t *testing.T) *killableProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &killableProc{t: t, addr: l.Addr().String(), lis: l, dead: make(chan struct{})}
	t.Cleanup(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.gs != nil {
			k.gs.Stop()
		}
		if k.lis != nil {
			_ = k.lis.Close()
		}
	})
	return k
}

type trackingListener struct {
	net.Listener
	k *killableProc
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.k.mu.Lock()
		l.k.conns = append(l.k.conns, c)
		l.k.mu.Unlock()
	}
	return c, err
}

// serve starts a gRPC server for p on the current listener.
func (k *killableProc) serve(p extprocv3.ExternalProcessorServer) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gs = grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(k.gs, p)
	gs, l := k.gs, trackingListener{k.lis, k}
	go func() { _ = gs.Serve(l) }()
}

// kill resets every connection and closes the listener.
func (k *killableProc) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = k.lis.Close()
	k.lis = nil
	for _, c := range k.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, as the kernel does for a killed process
		}
		_ = c.Close()
	}
	k.conns = nil
	// Only now may the blocked handler return: a dead process never gets
	// to end its streams (a handler returning before the reset would send
	// an OK status, which Envoy treats as "continue unprocessed").
	close(k.dead)
	k.gs.Stop()
	k.gs = nil
}

// restart binds the same address again and serves p.
func (k *killableProc) restart(p extprocv3.ExternalProcessorServer) {
	k.t.Helper()
	l, err := net.Listen("tcp", k.addr)
	if err != nil {
		k.t.Fatalf("rebind %s: %v", k.addr, err)
	}
	k.mu.Lock()
	k.lis, k.dead = l, make(chan struct{})
	k.mu.Unlock()
	k.serve(p)
}

var errProcessDied = errors.New("process died")

// upBodies records what the upstream read of each request body (as it
// arrives), and whether that body ended cleanly; client is what the client
// read of the response so far.
type upBodies struct {
	mu     sync.Mutex
	body   []string
	errs   []error
	client progressive
}

// progressive is a client that records the response body as it reads it,
// so an upstream can wait until the client has an event before it sends
// the next one (then a reset cannot discard unread data in flight).
type progressive struct {
	mu sync.Mutex
	b  []byte
}

func (p *progressive) has(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Contains(string(p.b), s)
}

func (p *progressive) get(path string) func(e *env) clientSaw {
	return func(e *env) clientSaw {
		req, _ := http.NewRequest(http.MethodGet, e.front.URL+path, nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return clientSaw{Err: err}
		}
		defer resp.Body.Close()
		buf := make([]byte, 512)
		for {
			n, rerr := resp.Body.Read(buf)
			p.mu.Lock()
			p.b = append(p.b, buf[:n]...)
			p.mu.Unlock()
			if rerr != nil {
				if rerr == io.EOF {
					rerr = nil
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				return clientSaw{Status: resp.StatusCode, Header: resp.Header, Body: string(p.b), Err: rerr}
			}
		}
	}
}

// sseAfterClient is an SSE upstream that writes each event after the
// first only once the client has read the previous one.
func sseAfterClient(p *progressive, events ...string) func(e *env) http.HandlerFunc {
	return sse{events: events, between: func(e *env, i int) {
		e.await("the client read the previous event", func() bool { return p.has(events[i-1]) })
	}}.handler
}

func (u *upBodies) handler(e *env) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		i := len(u.body)
		u.body, u.errs = append(u.body, ""), append(u.errs, nil)
		u.mu.Unlock()
		buf := make([]byte, 512)
		var err error
		for {
			var n int
			n, err = r.Body.Read(buf)
			u.mu.Lock()
			u.body[i] += string(buf[:n])
			u.mu.Unlock()
			if err != nil {
				break
			}
		}
		if err != io.EOF {
			u.mu.Lock()
			u.errs[i] = err
			u.mu.Unlock()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, jsonResp)
	}
}

func (u *upBodies) snapshot() ([]string, []error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.body...), append([]error(nil), u.errs...)
}

// streamTwoParts posts a body in two parts; the second is written only once
// the upstream has read the first (so the first was released by the
// processor and forwarded).
func streamTwoParts(u *upBodies, first, second string) func(e *env) clientSaw {
	return func(e *env) clientSaw {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, e.front.URL+"/mcp/files", pr)
		req.ContentLength = -1
		go func() {
			_, _ = pw.Write([]byte(first))
			e.await("the upstream read the first part", func() bool {
				b, _ := u.snapshot()
				return len(b) == 1 && b[0] == first
			})
			_, _ = pw.Write([]byte(second))
			_ = pw.Close()
		}()
		return e.do(req)
	}
}

// recovered polls until a plain request goes through again. Every attempt
// before that must fail closed (500, nothing forwarded): the gRPC client may
// still be in its reconnect backoff right after the restart. The poll only
// bounds a broken proxy; it orders nothing.
func recovered(t *testing.T, e *env, upstreamBefore int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := e.post("/mcp/files", `{"after":"restart"}`)
		if got.Err == nil && got.Status == 200 {
			up := e.upstream()
			if len(up) != upstreamBefore+1 {
				t.Fatalf("upstream saw %d requests after recovery, want %d", len(up), upstreamBefore+1)
			}
			return
		}
		if got.Status != 500 || len(e.upstream()) != upstreamBefore {
			t.Fatalf("while the processor reconnects: status %d err %v, upstream saw %d (want 500 and %d)", got.Status, got.Err, len(e.upstream()), upstreamBefore)
		}
		if time.Now().After(deadline) {
			t.Fatal("the data plane did not recover after the processor came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultProcessorKilled: the processor process dies while it holds a
// message of a streaming body, in each body mode the gateway uses.
func TestFaultProcessorKilled(t *testing.T) {
	cases := []struct {
		name   string
		filter FilterConfig
		up     func(u *upBodies) func(e *env) http.HandlerFunc
		// dieOn reports the message the processor dies holding.
		dieOn  func(req *extprocv3.ProcessingRequest) bool
		send   func(u *upBodies) func(e *env) clientSaw
		expect func(t *testing.T, e *env, u *upBodies, got clientSaw)
	}{
		{
			// Portcullis' own mode for JSON-RPC requests: the whole body is
			// held until the processor answers.
			name:   "buffered request body",
			filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}},
			up:     func(u *upBodies) func(e *env) http.HandlerFunc { return u.handler },
			dieOn:  func(req *extprocv3.ProcessingRequest) bool { return req.GetRequestBody() != nil },
			send: func(*upBodies) func(e *env) clientSaw {
				return postTo("/mcp/files", `{"jsonrpc":"2.0","id":1,"method":"tools/call"}`)
			},
			expect: func(t *testing.T, e *env, u *upBodies, got clientSaw) {
				eq(t, "status", got.Status, 500)
				eq(t, "upstream requests", len(e.upstream()), 0)
				if _, d, _ := e.lastTrace().LocalReply(); !strings.HasPrefix(d, "ext_proc_error_gRPC_error_14") {
					t.Errorf("local reply details %q, want ext_proc_error_gRPC_error_14{…} (Unavailable)", d)
				}
			},
		},
		{
			// A streamed request body: the first chunk was released and
			// forwarded; the second was never inspected, so the upstream
			// must never see it nor a cleanly ended body.
			name:   "streamed request body",
			filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyStreamed}},
			up:     func(u *upBodies) func(e *env) http.HandlerFunc { return u.handler },
			dieOn: func(req *extprocv3.ProcessingRequest) bool {
				return strings.Contains(string(req.GetRequestBody().GetBody()), "uninspected")
			},
			send: func(u *upBodies) func(e *env) clientSaw {
				return streamTwoParts(u, `{"released":1,`, `"uninspected":2}`)
			},
			expect: func(t *testing.T, e *env, u *upBodies, got clientSaw) {
				if got.Err == nil && got.Status != 500 {
					t.Errorf("client got %d %q; want 500 or a reset", got.Status, got.Body)
				}
				waitFor(t, func() bool { _, errs := u.snapshot(); return len(errs) == 1 && errs[0] != nil })
				bodies, errs := u.snapshot()
				if bodies[0] != `{"released":1,` {
					t.Errorf("upstream read %q (err %v); want the released part only and an aborted body", bodies[0], errs[0])
				}
			},
		},
		{
			// An SSE result: event 1 was inspected and reached the client;
			// the processor dies holding event 2, which must never reach
			// the client, and the stream is reset (headers were sent).
			name:   "streamed SSE response",
			filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyStreamed}},
			up: func(u *upBodies) func(e *env) http.HandlerFunc {
				return sseAfterClient(&u.client, "data: inspected\n\n", "data: uninspected\n\n")
			},
			dieOn: func(req *extprocv3.ProcessingRequest) bool {
				return strings.Contains(string(req.GetResponseBody().GetBody()), "uninspected")
			},
			send: func(u *upBodies) func(e *env) clientSaw { return u.client.get("/mcp/files") },
			expect: func(t *testing.T, e *env, _ *upBodies, got clientSaw) {
				if got.Err == nil {
					t.Errorf("client saw a complete response %d %q; want a reset", got.Status, got.Body)
				}
				if !strings.Contains(got.Body, "inspected") || strings.Contains(got.Body, "uninspected") {
					t.Errorf("client body %q; want the inspected event only", got.Body)
				}
				eq(t, "resets", e.proxy.Stats().Resets, int64(1))
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := newKillableProc(t)
			u := &upBodies{}
			holding := make(chan struct{})
			var once sync.Once
			e := newEnv(t, envOpts{filter: tc.filter, procAddr: k.addr, upstreamFor: tc.up(u), upstreamKeepsBody: true},
				func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
					if tc.dieOn(req) {
						k.mu.Lock()
						dead := k.dead
						k.mu.Unlock()
						once.Do(func() { close(holding) })
						<-dead // never answers: the process is gone
						return nil, errProcessDied
					}
					return cont(req), nil
				})
			k.serve(e.proc)
			go func() { <-holding; k.kill() }()
			got := tc.send(u)(e)
			tc.expect(t, e, u, got)
			// While the processor is down every request fails closed.
			before := len(e.upstream())
			down := e.post("/mcp/files", `{"while":"down"}`)
			eq(t, "status while down", down.Status, 500)
			eq(t, "upstream requests while down", len(e.upstream()), before)
			// The processor comes back on the same address.
			e.proc.mu.Lock()
			e.proc.script = continueAll
			e.proc.mu.Unlock()
			k.restart(e.proc)
			recovered(t, e, before)
		})
	}
}

// TestFaultProcessorStalled: the processor receives a message and never
// answers (it blocks on a channel). When the message timeout passes on the
// proxy's clock the client gets Envoy's 504 before the response started, or
// a reset mid-stream (the stream to the processor is cancelled, so a late
// answer has nowhere to go), and the next request is processed normally.
func TestFaultProcessorStalled(t *testing.T) {
	const timeout = 2 * time.Second
	cases := []struct {
		name    string
		filter  FilterConfig
		up      func(p *progressive) func(e *env) http.HandlerFunc
		stallOn func(req *extprocv3.ProcessingRequest) bool
		send    func(p *progressive) func(e *env) clientSaw
		expect  func(t *testing.T, e *env, got clientSaw)
	}{
		{
			name:    "request body",
			filter:  FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, MessageTimeout: timeout, StatusOnError: 500},
			stallOn: func(req *extprocv3.ProcessingRequest) bool { return req.GetRequestBody() != nil },
			send: func(*progressive) func(e *env) clientSaw {
				return postTo("/mcp/files", `{"jsonrpc":"2.0","id":1,"method":"tools/call"}`)
			},
			expect: func(t *testing.T, e *env, got clientSaw) {
				eq(t, "status", got.Status, 504)
				eq(t, "upstream requests", len(e.upstream()), 0)
				_, d, _ := e.lastTrace().LocalReply()
				eq(t, "details", d, "ext_proc_error_per-message_timeout_exceeded")
			},
		},
		{
			name:   "SSE event mid-stream",
			filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyStreamed}, MessageTimeout: timeout},
			up: func(p *progressive) func(e *env) http.HandlerFunc {
				return sseAfterClient(p, "data: inspected\n\n", "data: uninspected\n\n")
			},
			stallOn: func(req *extprocv3.ProcessingRequest) bool {
				return strings.Contains(string(req.GetResponseBody().GetBody()), "uninspected")
			},
			send: func(p *progressive) func(e *env) clientSaw { return p.get("/mcp/files") },
			expect: func(t *testing.T, e *env, got clientSaw) {
				if got.Err == nil {
					t.Errorf("client saw a complete response %d %q; want a reset", got.Status, got.Body)
				}
				if !strings.Contains(got.Body, "inspected") || strings.Contains(got.Body, "uninspected") {
					t.Errorf("client body %q; want the inspected event only", got.Body)
				}
				eq(t, "resets", e.proxy.Stats().Resets, int64(1))
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			var stalled atomic.Bool
			p := &progressive{}
			var up func(e *env) http.HandlerFunc
			if tc.up != nil {
				up = tc.up(p)
			}
			e := newEnv(t, envOpts{filter: tc.filter, upstreamFor: up},
				func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
					if tc.stallOn(req) && stalled.CompareAndSwap(false, true) {
						// The timer is armed before the message is sent, so
						// moving the clock now fires it; then the processor
						// hangs until the test releases it and answers late.
						return []*extprocv3.ProcessingResponse{
							advance(timeout + time.Millisecond),
							act(func(*env) { <-release }),
							// the proxy cancelled the stream: this never arrives
							reply(req, common()),
						}, nil
					}
					return cont(req), nil
				})
			got := tc.send(p)(e)
			tc.expect(t, e, got)
			eq(t, "message timeouts", e.proxy.Stats().MessageTimeouts, int64(1))
			upBefore := len(e.upstream())
			close(release)
			// The stalled stream is gone; the next request (a new stream)
			// is processed as usual.
			next := e.post("/mcp/files", `{"after":"stall"}`)
			if next.Err != nil || next.Status != 200 {
				t.Fatalf("request after the stall: %d %v", next.Status, next.Err)
			}
			eq(t, "upstream requests", len(e.upstream()), upBefore+1)
			eq(t, "message timeouts", e.proxy.Stats().MessageTimeouts, int64(1))
		})
	}
}
