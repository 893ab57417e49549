package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ---- scripted fake processor over real gRPC (bufconn) ----

// script answers one ProcessingRequest; it may return zero or more replies,
// or an error to end the stream with that status (errReturnNil: return nil).
type script func(i int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error)

var errReturnNil = errors.New("return nil")

// act returns a placeholder reply: when a script returns it among its
// replies, the fake processor runs f (with the test env) at that point
// instead of sending it, so a script can order its replies after events
// (a clock advance, a counter, the body reaching the proxy) without sleeping.
func act(f func(e *env)) *extprocv3.ProcessingResponse {
	r := &extprocv3.ProcessingResponse{}
	actions.Store(r, f)
	return r
}

var actions sync.Map // *extprocv3.ProcessingResponse → func(*env)

type fakeProc struct {
	extprocv3.UnimplementedExternalProcessorServer
	env    *env
	mu     sync.Mutex
	script script
	got    []*extprocv3.ProcessingRequest
	ended  chan error // how each stream ended from the server's view
}

func (f *fakeProc) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	for i := 0; ; i++ {
		req, err := s.Recv()
		if err != nil {
			select {
			case f.ended <- err:
			default:
			}
			return nil
		}
		f.mu.Lock()
		f.got = append(f.got, req)
		sc := f.script
		f.mu.Unlock()
		resps, err := sc(i, req)
		if errors.Is(err, errReturnNil) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, r := range resps {
			if a, ok := actions.Load(r); ok {
				a.(func(*env))(f.env)
				continue
			}
			if err := s.Send(r); err != nil {
				return nil
			}
		}
	}
}

func (f *fakeProc) requests() []*extprocv3.ProcessingRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*extprocv3.ProcessingRequest(nil), f.got...)
}

// upstreamSaw is what the upstream server received.
type upstreamSaw struct {
	Method, Path, Query, Host string
	RequestURI                string // as sent on the wire
	Header                    http.Header
	Body                      string
	ContentLength             int64
	TransferEncoding          []string
	Trailer                   http.Header
}

type env struct {
	t       *testing.T
	proc    *fakeProc
	proxy   *Proxy
	front   *httptest.Server
	up      *httptest.Server
	sawMu   sync.Mutex
	saw     []upstreamSaw
	traceMu sync.Mutex
	trace   *Trace
	// clock drives the proxy's message timers: they fire only when a test
	// advances it, never because the machine is slow.
	clock *fakeClock
}

type envOpts struct {
	filter   FilterConfig
	routes   func(up *url.URL) []Route
	limit    int64
	catchAll string
	upstream http.HandlerFunc // after recording; default 200 JSON echo
	// upstreamFor builds the upstream handler with the env (gated upstreams);
	// it wins over upstream.
	upstreamFor func(e *env) http.HandlerFunc
	// upstreamKeepsBody: the recorder does not read the request body (the
	// upstream handler answers without it).
	upstreamKeepsBody bool
	noProc            bool // processor address that refuses connections
	// procAddr: dial this TCP address instead of serving e.proc over
	// bufconn (faults_test.go serves it on a listener it can kill).
	procAddr string
}

func newEnv(t *testing.T, o envOpts, sc script) *env {
	t.Helper()
	e := &env{t: t, proc: &fakeProc{script: sc, ended: make(chan error, 16)}, clock: newFakeClock()}
	e.proc.env = e
	var conn grpc.ClientConnInterface
	var err error
	if o.procAddr != "" {
		// A real gRPC processor the test controls (fault tests kill it).
		conn, err = grpc.NewClient("passthrough:///"+o.procAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else if inProcessTransport && !o.noProc {
		conn = InProcess(e.proc)
	} else if o.noProc {
		l, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		addr := l.Addr().String()
		_ = l.Close()
		conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		lis := bufconn.Listen(1 << 20)
		gs := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
		extprocv3.RegisterExternalProcessorServer(gs, e.proc)
		go func() { _ = gs.Serve(lis) }()
		t.Cleanup(gs.Stop)
		conn, err = grpc.NewClient("passthrough:///bufnet",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := conn.(interface{ Close() error }); ok {
		t.Cleanup(func() { _ = c.Close() })
	}

	uh := o.upstream
	if o.upstreamFor != nil {
		uh = o.upstreamFor(e)
		o.upstream = uh
	}
	if uh == nil {
		uh = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
		}
	}
	e.up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if !o.upstreamKeepsBody && (o.upstream == nil || r.Method != http.MethodGet) {
			body, _ = io.ReadAll(r.Body)
		}
		e.sawMu.Lock()
		e.saw = append(e.saw, upstreamSaw{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, RequestURI: r.RequestURI,
			Header: r.Header.Clone(), Body: string(body), ContentLength: r.ContentLength,
			TransferEncoding: r.TransferEncoding, Trailer: r.Trailer.Clone()})
		e.sawMu.Unlock()
		uh(w, r)
	}))
	t.Cleanup(e.up.Close)
	upURL, _ := url.Parse(e.up.URL + "/mcp")
	routes := []Route{{Name: "files", PathPrefix: "/mcp/files", Upstream: upURL}}
	if o.routes != nil {
		routes = o.routes(upURL)
	}
	p, err := New(Config{Routes: routes, Filter: o.filter, Processor: conn, BufferLimit: o.limit, CatchAllPrefix: o.catchAll, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.proxy = p
	e.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr := &Trace{}
		e.traceMu.Lock()
		e.trace = tr
		e.traceMu.Unlock()
		p.ServeHTTP(w, r.WithContext(WithTrace(r.Context(), tr)))
	}))
	t.Cleanup(e.front.Close)
	return e
}

func (e *env) upstream() []upstreamSaw {
	e.sawMu.Lock()
	defer e.sawMu.Unlock()
	return append([]upstreamSaw(nil), e.saw...)
}

func (e *env) lastTrace() *Trace {
	e.traceMu.Lock()
	defer e.traceMu.Unlock()
	return e.trace
}

type clientSaw struct {
	Status  int
	Header  http.Header
	Body    string
	Trailer http.Header
	Err     error // body read error (reset)
}

func (e *env) do(req *http.Request) clientSaw {
	e.t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return clientSaw{Err: err}
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	return clientSaw{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Trailer: resp.Trailer, Err: rerr}
}

func (e *env) post(path, body string, hdr ...string) clientSaw {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.front.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return e.do(req)
}

// ---- transcript rendering ----

func hdrVal(m *corev3.HeaderMap, k string) (string, bool) {
	for _, h := range m.GetHeaders() {
		if h.GetKey() == k {
			return string(h.GetRawValue()), true
		}
	}
	return "", false
}

// render summarises a ProcessingRequest on one line.
func render(r *extprocv3.ProcessingRequest) string {
	switch v := r.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		cl, ok := hdrVal(v.RequestHeaders.GetHeaders(), "content-length")
		s := fmt.Sprintf("req_headers eos=%v", v.RequestHeaders.GetEndOfStream())
		if ok {
			s += " cl=" + cl
		}
		return s
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		st, _ := hdrVal(v.ResponseHeaders.GetHeaders(), ":status")
		cl, ok := hdrVal(v.ResponseHeaders.GetHeaders(), "content-length")
		s := fmt.Sprintf("resp_headers %s eos=%v", st, v.ResponseHeaders.GetEndOfStream())
		if ok {
			s += " cl=" + cl
		}
		return s
	case *extprocv3.ProcessingRequest_RequestBody:
		return fmt.Sprintf("req_body %q eos=%v", v.RequestBody.GetBody(), v.RequestBody.GetEndOfStream())
	case *extprocv3.ProcessingRequest_ResponseBody:
		return fmt.Sprintf("resp_body %q eos=%v", v.ResponseBody.GetBody(), v.ResponseBody.GetEndOfStream())
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return "req_trailers"
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return "resp_trailers"
	}
	return "?"
}

func renderAll(rs []*extprocv3.ProcessingRequest) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, render(r))
	}
	return out
}

// ---- reply builders ----

func common(mut ...func(*extprocv3.CommonResponse)) *extprocv3.CommonResponse {
	c := &extprocv3.CommonResponse{}
	for _, m := range mut {
		m(c)
	}
	return c
}

// reply builds the matching reply for req with the given common response.
func reply(req *extprocv3.ProcessingRequest, c *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
	switch req.GetRequest().(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: c}}}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: c}}}
	case *extprocv3.ProcessingRequest_RequestBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: c}}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: c}}}
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{HeaderMutation: c.GetHeaderMutation()}}}
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{HeaderMutation: c.GetHeaderMutation()}}}
	}
	return &extprocv3.ProcessingResponse{}
}

func cont(req *extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	return []*extprocv3.ProcessingResponse{reply(req, common())}
}

// continueAll answers every message with CONTINUE.
func continueAll(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
	return cont(req), nil
}

func setHdr(k, v string) func(*extprocv3.CommonResponse) {
	return func(c *extprocv3.CommonResponse) {
		if c.HeaderMutation == nil {
			c.HeaderMutation = &extprocv3.HeaderMutation{}
		}
		c.HeaderMutation.SetHeaders = append(c.HeaderMutation.SetHeaders,
			&corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}})
	}
}

func appendHdr(k, v string, app bool) func(*extprocv3.CommonResponse) {
	return func(c *extprocv3.CommonResponse) {
		if c.HeaderMutation == nil {
			c.HeaderMutation = &extprocv3.HeaderMutation{}
		}
		c.HeaderMutation.SetHeaders = append(c.HeaderMutation.SetHeaders,
			&corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}, Append: wrapperspb.Bool(app)})
	}
}

func valueOnlyHdr(k, v string) func(*extprocv3.CommonResponse) {
	return func(c *extprocv3.CommonResponse) {
		if c.HeaderMutation == nil {
			c.HeaderMutation = &extprocv3.HeaderMutation{}
		}
		c.HeaderMutation.SetHeaders = append(c.HeaderMutation.SetHeaders,
			&corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}})
	}
}

func rmHdr(k string) func(*extprocv3.CommonResponse) {
	return func(c *extprocv3.CommonResponse) {
		if c.HeaderMutation == nil {
			c.HeaderMutation = &extprocv3.HeaderMutation{}
		}
		c.HeaderMutation.RemoveHeaders = append(c.HeaderMutation.RemoveHeaders, k)
	}
}

func setBody(b string) func(*extprocv3.CommonResponse) {
	return func(c *extprocv3.CommonResponse) {
		c.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte(b)}}
	}
}

func clearBody() func(*extprocv3.CommonResponse) {
	return func(c *extprocv3.CommonResponse) {
		c.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}
	}
}

func immediate(code int, body string, hdrs ...string) *extprocv3.ProcessingResponse {
	ir := &extprocv3.ImmediateResponse{Body: []byte(body), Details: "blocked by test"}
	if code != 0 {
		ir.Status = &typev3.HttpStatus{Code: typev3.StatusCode(code)}
	}
	if len(hdrs) > 0 {
		ir.Headers = &extprocv3.HeaderMutation{}
		for i := 0; i+1 < len(hdrs); i += 2 {
			ir.Headers.SetHeaders = append(ir.Headers.SetHeaders, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: hdrs[i], RawValue: []byte(hdrs[i+1])}})
		}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: ir}}
}

func isType(req *extprocv3.ProcessingRequest, name string) bool {
	return strings.HasPrefix(render(req), name+" ") || render(req) == name
}

// statusErr is a gRPC error for scripts.
func statusErr(c codes.Code, msg string) error { return status.Error(c, msg) }

// waitFor waits until cond holds. The deadline is only a safety net so a
// broken proxy fails instead of hanging; it orders nothing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---- fake clock ----

// fakeClock implements Clock; timers fire only in Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	armed  int // Reset/NewTimer calls, for tests that wait for a timer
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// idle reports that no timer is armed (no reply is awaited).
func (c *fakeClock) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.timers {
		if t.active {
			return false
		}
	}
	return true
}

// Advance moves the clock and fires every timer that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.active && !t.at.After(c.now) {
			t.active = false
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.at, t.active = t.c.now.Add(d), true
	t.c.armed++
	select { // like time.Timer since Go 1.23: no stale value after Reset
	case <-t.ch:
	default:
	}
	return was
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	select {
	case <-t.ch:
	default:
	}
	return was
}

// ---- ordering helpers ----

// afterBody holds a reply until the proxy has received the whole request
// body (trace event), then answers with h (nil: CONTINUE).
func afterBody(h H) H {
	return func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		rest := cont(req)
		if h != nil {
			var err error
			if rest, err = h(req); err != nil {
				return nil, err
			}
		}
		return append([]*extprocv3.ProcessingResponse{act(func(e *env) { e.waitBodyEnd("request") })}, rest...), nil
	}
}

// await is waitFor for goroutines other than the test's (processor
// actions, upstream handlers): it reports failure with Errorf.
func (e *env) await(what string, cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Errorf("gave up waiting for %s", what)
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// advance is a script reply that moves the proxy's clock by d.
func advance(d time.Duration) *extprocv3.ProcessingResponse {
	return act(func(e *env) { e.clock.Advance(d) })
}

// waitBodyEnd waits until the current request's trace shows the end of the
// body in direction dir.
func (e *env) waitBodyEnd(dir string) { e.waitTrace(EventBodyEnd, dir) }

// waitTrace waits until the current request's trace has an event of kind
// with the given details.
func (e *env) waitTrace(kind EventKind, details string) {
	e.await(string(kind)+" "+details, func() bool {
		tr := e.lastTrace()
		if tr == nil {
			return false
		}
		for _, ev := range tr.Events() {
			if ev.Kind == kind && ev.Details == details {
				return true
			}
		}
		return false
	})
}

// waitRespBodies waits until the processor has received n response body messages.
func (e *env) waitRespBodies(n int) {
	e.await(fmt.Sprintf("%d response body messages", n), func() bool { return e.respBodies() >= n })
}

func (e *env) respBodies() int {
	c := 0
	for _, r := range e.proc.requests() {
		if r.GetResponseBody() != nil {
			c++
		}
	}
	return c
}

// sse describes a gated SSE upstream: event i > 0 is written only once the
// processor has received i response body messages, so every event is its own
// chunk and arrives after the previous one was processed, without sleeps.
type sse struct {
	events []string
	// tail: end the stream only after the processor saw every event, so the
	// end of stream is an empty chunk of its own.
	tail bool
	// between runs before event i > 0 (e.g. a clock advance).
	between func(e *env, i int)
}

func (s sse) handler(e *env) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		base := e.respBodies() // earlier requests on the same env
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for i, ev := range s.events {
			if i > 0 {
				e.waitRespBodies(base + i)
				if s.between != nil {
					s.between(e, i)
				}
			}
			_, _ = io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		}
		if s.tail {
			e.waitRespBodies(base + len(s.events))
		}
	}
}
