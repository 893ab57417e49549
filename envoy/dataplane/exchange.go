package dataplane

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

type dirKind int

const (
	dReq dirKind = iota
	dResp
)

func (k dirKind) String() string {
	if k == dReq {
		return "request"
	}
	return "response"
}

// cbState mirrors ProcessorState::CallbackState (processor_state.h).
type cbState int

const (
	cbIdle cbState = iota
	cbHeaders
	cbBufferedBody
	cbStreamedBody
	cbPartialBody
	cbTrailers
)

type chunk struct {
	data []byte
	eos  bool
}

// direction is the per-direction state of processor_state.h.
type direction struct {
	kind         dirKind
	state        cbState
	sendHeaders  bool
	sendTrailers bool
	bodyMode     BodySendMode

	hdrs        headerList
	started     bool // headers known (request: always; response: upstream answered)
	released    bool // headers forwarded to the next hop
	noBody      bool // end_of_stream on headers
	buf         []byte
	bodyEOS     bool // every body byte has been received from the source
	trailers    headerList
	hasTrailers bool
	queue       []chunk // STREAMED chunks awaiting their replies (FIFO)
	sentLen     int     // bytes of buf sent in the pending buffered/partial body message

	timer      Timer
	timerOn    bool
	overridden bool
	attrsSent  bool

	unprocessed  bool // body flows without ext_proc from now on
	drain        bool // CONTINUE_AND_REPLACE with body: original body dropped
	trailersSent bool
	fdServerEOS  bool // FULL_DUPLEX: server sent streamed_response.end_of_stream
	paused       bool // reading paused above the buffer limit (watermark)
	ended        bool // end of body (+trailers) forwarded
}

type procEv struct {
	resp *extprocv3.ProcessingResponse
	err  error
}

type bodyEv struct {
	data     []byte
	eos      bool
	trailers headerList
	err      error
}

type upEv struct {
	resp *http.Response
	err  error
}

// exchange is one HTTP request through the proxy. All fields are owned by
// the goroutine running run().
type exchange struct {
	p      *Proxy
	w      http.ResponseWriter
	rc     *http.ResponseController
	r      *http.Request
	ctx    context.Context
	cancel context.CancelFunc
	trace  *Trace
	route  *Route

	mode     ProcessingMode // effective mode (per-route merged, then mode_override)
	d        [2]*direction
	active   bool // ext_proc processing not complete
	origAuth string
	path     string // normalised request target (:path)
	reqID    string
	rerouted bool

	stream       extprocv3.ExternalProcessor_ProcessClient
	streamCancel context.CancelFunc
	streamOpen   bool
	streamClosed bool
	protoSent    bool
	procCh       chan procEv

	dsCh   chan bodyEv
	dsDone chan struct{} // closed when the downstream body reader exits
	// Written by the downstream body reader before it closes dsDone.
	dsEOF   atomic.Bool  // the reader saw the end of the request body
	dsErr   error        // the reader's terminal error (not io.EOF)
	dsBytes atomic.Int64 // request body bytes received from the client
	// closeSent: the reply told an HTTP/1 client "Connection: close".
	closeSent bool
	immediate bool // the local reply is the processor's ImmediateResponse
	pipe      *bodyPipe
	upCh      chan upEv

	resp         *http.Response
	usCh         chan bodyEv
	wroteHeaders bool
	done         bool
	aborted      bool
}

func newExchange(p *Proxy, w http.ResponseWriter, r *http.Request, rt *Route, path string) *exchange {
	ctx, cancel := context.WithCancel(r.Context())
	x := &exchange{
		p: p, w: w, rc: http.NewResponseController(w), r: r, ctx: ctx, cancel: cancel,
		trace: traceFrom(r.Context()), route: rt, path: path,
		procCh: make(chan procEv, 4), dsCh: make(chan bodyEv, 4), upCh: make(chan upEv, 1), usCh: make(chan bodyEv, 4),
	}
	x.mode = p.filter.ProcessingMode
	x.active = true
	if rt != nil {
		if m := rt.Methods[r.Method]; m != nil {
			x.mode = *m
		}
		if rt.Disabled {
			x.active = false
		}
	}
	x.d[dReq] = &direction{kind: dReq}
	x.d[dResp] = &direction{kind: dResp}
	x.applyMode(x.mode)
	return x
}

func (x *exchange) applyMode(m ProcessingMode) {
	x.mode = m
	q, s := x.d[dReq], x.d[dResp]
	q.sendHeaders, q.sendTrailers, q.bodyMode = m.RequestHeader != HeaderSkip, m.RequestTrailer == HeaderSend, m.RequestBody
	s.sendHeaders, s.sendTrailers, s.bodyMode = m.ResponseHeader != HeaderSkip, m.ResponseTrailer == HeaderSend, m.ResponseBody
}

// run is the per-request event loop.
func (x *exchange) run() {
	defer x.cleanup()
	x.start()
	for !x.done {
		dsCh, usCh := x.dsCh, x.usCh
		if x.pausedOver(x.d[dReq]) {
			dsCh = nil // stop reading the client until the held data drains
		}
		if x.pausedOver(x.d[dResp]) {
			usCh = nil
		}
		var space chan struct{}
		if x.pipe != nil {
			space = x.pipe.space
		}
		select {
		case ev := <-x.procCh:
			x.onProc(ev)
		case ev := <-dsCh:
			x.onBody(x.d[dReq], ev)
		case ev := <-x.upCh:
			x.onUpstream(ev)
		case ev := <-usCh:
			x.onBody(x.d[dResp], ev)
		case <-space:
			// the upstream consumed request data: re-evaluate the watermark
		case <-x.timerC(dReq):
			x.onTimeout(x.d[dReq])
		case <-x.timerC(dResp):
			x.onTimeout(x.d[dResp])
		case <-x.ctx.Done():
			x.done = true
		}
	}
}

func (x *exchange) cleanup() {
	for _, d := range x.d {
		x.stopTimer(d)
	}
	x.closeStream("request_complete")
	if x.pipe != nil {
		x.pipe.finish(nil, errPipeClosed)
	}
	x.cancel()
	if x.resp != nil {
		_ = x.resp.Body.Close()
	}
	if x.dsDone != nil {
		x.stopBodyReader()
	}
	if x.aborted {
		// The documented net/http way to reset the downstream stream.
		panic(http.ErrAbortHandler)
	}
}

// traceAdd records e, stamped by the proxy's clock, when a Trace is attached.
func (x *exchange) traceAdd(e TraceEvent) {
	if x.trace == nil {
		return
	}
	e.Time = x.p.clock.Now()
	x.trace.add(e)
}

func (x *exchange) timerC(k dirKind) <-chan time.Time {
	if d := x.d[k]; d.timer != nil && d.timerOn {
		return d.timer.C()
	}
	return nil
}

func (x *exchange) armTimer(d *direction, dur time.Duration) {
	if d.bodyMode == BodyFullDuplex {
		return
	}
	if d.timer == nil {
		d.timer = x.p.clock.NewTimer(dur)
	} else {
		d.timer.Reset(dur)
	}
	d.timerOn = true
}

func (x *exchange) stopTimer(d *direction) {
	if d.timer != nil {
		d.timer.Stop()
	}
	d.timerOn = false
}

func (x *exchange) setState(d *direction, s cbState) {
	if d.state != s {
		d.overridden = false
	}
	d.state = s
	if s == cbIdle {
		x.stopTimer(d)
	}
}

// ---- start: the downstream request ----

func (x *exchange) start() {
	r := x.r
	_ = x.rc.EnableFullDuplex()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := x.path
	x.origAuth = r.Host
	d := x.d[dReq]
	d.started = true
	d.hdrs = headerList{{":authority", r.Host}, {":path", path}, {":method", r.Method}, {":scheme", scheme}}
	d.hdrs.fromHTTP(r.Header)
	if _, ok := d.hdrs.get("content-length"); !ok && r.ContentLength > 0 {
		d.hdrs.add("content-length", strconv.FormatInt(r.ContentLength, 10))
	}
	d.hdrs.set("x-forwarded-proto", scheme)
	if id, ok := d.hdrs.get("x-request-id"); ok && id != "" {
		x.reqID = id
	} else {
		x.reqID = newRequestID()
		d.hdrs.set("x-request-id", x.reqID)
	}
	d.noBody = r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0
	if !d.noBody {
		x.dsDone = make(chan struct{})
		go func() {
			defer close(x.dsDone)
			eof, err := x.readBody(r.Body, x.dsCh, func() http.Header { return r.Trailer }, &x.dsBytes)
			x.dsEOF.Store(eof)
			x.dsErr = err
		}()
	}
	x.startHeaders(d)
}

// newRequestID returns a random (version 4) UUID. The bits come from the
// runtime's per-thread ChaCha8 generator (math/rand/v2): unpredictable
// enough for a correlation id and, unlike crypto/rand, no system call per
// request.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], mrand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// readBody posts body chunks (one per Read) as events; the last has eos.
// It returns whether it saw the end of the body, or the read error that
// stopped it; it stops early (nil, false) once the exchange is over.
func (x *exchange) readBody(body io.Reader, ch chan<- bodyEv, trailer func() http.Header, got *atomic.Int64) (eof bool, rerr error) {
	bp := readBufPool.Get().(*[]byte)
	defer readBufPool.Put(bp)
	buf := *bp
	for {
		if x.ctx.Err() != nil {
			return false, nil
		}
		n, err := body.Read(buf)
		if got != nil {
			got.Add(int64(n))
		}
		ev := bodyEv{}
		if n > 0 {
			ev.data = append([]byte(nil), buf[:n]...)
		}
		switch {
		case errors.Is(err, io.EOF):
			ev.eos = true
			var tl headerList
			tl.fromHTTP(trailer())
			ev.trailers = tl
		case err != nil:
			ev.err = err
		case n == 0:
			continue
		}
		select {
		case ch <- ev:
		case <-x.ctx.Done():
			return ev.eos, ev.err
		}
		if err != nil {
			return ev.eos, ev.err
		}
	}
}

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// overWatermark reports whether reading more body data in direction d must
// pause (Envoy's watermarks): held or queued-but-unreleased data is above the
// buffer limit. BUFFERED modes keep reading so that the limit answers 413/500
// (or BUFFERED_PARTIAL sends what it has).
func (x *exchange) overWatermark(d *direction) bool {
	if x.active && !d.unprocessed && (d.bodyMode == BodyBuffered || d.bodyMode == BodyBufferedPartial) && !d.released {
		return false
	}
	held := int64(len(d.buf))
	for _, c := range d.queue {
		held += int64(len(c.data))
	}
	if d.kind == dReq && x.pipe != nil {
		held += x.pipe.queued()
	}
	return held > x.p.limit
}

// pausedOver is overWatermark, tracing each pause of reading.
func (x *exchange) pausedOver(d *direction) bool {
	over := x.overWatermark(d)
	if over && !d.paused {
		x.traceAdd(TraceEvent{Kind: EventWatermark, Details: d.kind.String()})
	}
	d.paused = over
	return over
}

// shouldRemoveCL is processor_state.h shouldRemoveContentLength.
func (x *exchange) shouldRemoveCL(d *direction) bool {
	if x.p.filter.AllowContentLengthHeader {
		return false
	}
	switch d.bodyMode {
	case BodyStreamed, BodyBufferedPartial, BodyFullDuplex:
		return true
	case BodyBuffered:
		return !d.sendHeaders
	}
	return false
}

// startHeaders runs the filter's decodeHeaders/encodeHeaders.
func (x *exchange) startHeaders(d *direction) {
	if !x.active {
		d.unprocessed = true
		x.release(d)
		if d.noBody {
			x.endBody(d)
		}
		return
	}
	if x.shouldRemoveCL(d) {
		d.hdrs.del("content-length")
	}
	if d.sendHeaders {
		hh := &extprocv3.HttpHeaders{Headers: d.hdrs.proto(), EndOfStream: d.noBody}
		msg := &extprocv3.ProcessingRequest{}
		if d.kind == dReq {
			msg.Request = &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: hh}
		} else {
			msg.Request = &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: hh}
		}
		x.setState(d, cbHeaders)
		x.armTimer(d, x.p.filter.MessageTimeout)
		x.send(d, msg)
		return
	}
	// header mode SKIP: headers continue at once; the body (if any) is processed.
	x.release(d)
	if d.noBody {
		x.endBody(d)
	} else if !x.processesBody(d) {
		d.unprocessed = true
	}
}

func (x *exchange) processesBody(d *direction) bool {
	switch d.bodyMode {
	case BodyBuffered, BodyBufferedPartial, BodyStreamed, BodyFullDuplex:
		return true
	}
	return false
}

// ---- the ext_proc stream ----

func (x *exchange) send(d *direction, msg *extprocv3.ProcessingRequest) {
	if x.streamClosed {
		return
	}
	if !x.streamOpen {
		x.streamOpen = true
		sctx, cancel := context.WithCancel(x.ctx)
		x.streamCancel = cancel
		st, err := x.p.client.Process(sctx)
		x.p.stats.streamsStarted.Add(1)
		if err != nil {
			x.streamClosed = true
			cancel()
			x.onStreamError(err)
			return
		}
		x.stream = st
		go x.recvLoop(sctx, st)
	}
	if !x.protoSent {
		x.protoSent = true
		msg.ProtocolConfig = &extprocv3.ProtocolConfiguration{
			RequestBodyMode:                         x.mode.RequestBody,
			ResponseBodyMode:                        x.mode.ResponseBody,
			SendBodyWithoutWaitingForHeaderResponse: x.p.filter.SendBodyWithoutWaitingForHeaderResponse,
		}
	}
	if !d.attrsSent {
		d.attrsSent = true
		if d.kind == dReq {
			msg.Attributes = x.requestAttributes()
		}
	}
	msg.MetadataContext = &corev3.Metadata{}
	x.traceAdd(TraceEvent{Kind: EventSent, Request: msg})
	// A failed Send means the stream is gone; its status arrives via Recv.
	_ = x.stream.Send(msg)
}

func (x *exchange) requestAttributes() map[string]*structpb.Struct {
	f := map[string]*structpb.Value{
		"source.address": structpb.NewStringValue(x.r.RemoteAddr),
		"request.id":     structpb.NewStringValue(x.reqID),
	}
	if t := x.r.TLS; t != nil && len(t.PeerCertificates) > 0 && len(t.PeerCertificates[0].URIs) > 0 {
		f["connection.uri_san_peer_certificate"] = structpb.NewStringValue(t.PeerCertificates[0].URIs[0].String())
	}
	return map[string]*structpb.Struct{"envoy.filters.http.ext_proc": {Fields: f}}
}

func (x *exchange) recvLoop(ctx context.Context, st extprocv3.ExternalProcessor_ProcessClient) {
	for {
		resp, err := st.Recv()
		select {
		case x.procCh <- procEv{resp: resp, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (x *exchange) closeStream(why string) {
	if !x.streamOpen || x.streamClosed {
		return
	}
	x.streamClosed = true
	_ = x.stream.CloseSend()
	x.streamCancel()
	x.traceAdd(TraceEvent{Kind: EventStreamEnd, Details: why})
}

// finishProcessing marks processing complete and closes the side stream.
func (x *exchange) finishProcessing(why string) {
	x.active = false
	for _, d := range x.d {
		x.stopTimer(d)
	}
	x.closeStream(why)
}

func (x *exchange) onStreamError(err error) {
	if !x.active {
		return
	}
	st, _ := status.FromError(err)
	x.streamClosed = true
	x.traceAdd(TraceEvent{Kind: EventStreamEnd, Details: "grpc_error_" + st.Code().String()})
	x.p.stats.failed.Add(1)
	if x.p.filter.FailureModeAllow {
		x.p.stats.failOpen.Add(1)
		x.abandon()
		return
	}
	x.localReply(x.p.filter.StatusOnError, errBody(x.p.filter.StatusOnError), nil,
		fmt.Sprintf("ext_proc_error_gRPC_error_%d{%s}", st.Code(), st.Message()))
}

func (x *exchange) onProc(ev procEv) {
	if ev.err != nil {
		if !x.active || x.streamClosed {
			return
		}
		if errors.Is(ev.err, io.EOF) {
			// server closed the stream with OK: continue unmodified.
			x.streamClosed = true
			x.traceAdd(TraceEvent{Kind: EventStreamEnd, Details: "server_closed_ok"})
			x.abandon()
			return
		}
		if status.Code(ev.err) == codes.OK {
			x.abandon()
			return
		}
		x.onStreamError(ev.err)
		return
	}
	resp := ev.resp
	x.traceAdd(TraceEvent{Kind: EventReceived, Response: resp})
	if !x.active {
		return // after processing complete: silently ignored
	}
	if ot := resp.GetOverrideMessageTimeout(); ot != nil {
		x.onOverrideTimeout(ot.AsDuration())
		return
	}
	q, s := x.d[dReq], x.d[dResp]
	if mo := resp.GetModeOverride(); mo != nil && (q.state == cbHeaders || s.state == cbHeaders) {
		x.applyModeOverride(ModeFromProto(mo))
	}
	switch v := resp.GetResponse().(type) {
	case nil:
		x.spurious("unhandled_message")
	case *extprocv3.ProcessingResponse_RequestHeaders:
		if q.state != cbHeaders {
			x.spurious("spurious_message")
			return
		}
		x.onHeadersReply(q, v.RequestHeaders.GetResponse())
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		if s.state != cbHeaders {
			x.spurious("spurious_message")
			return
		}
		x.onHeadersReply(s, v.ResponseHeaders.GetResponse())
	case *extprocv3.ProcessingResponse_RequestBody:
		x.onBodyReply(q, v.RequestBody.GetResponse())
	case *extprocv3.ProcessingResponse_ResponseBody:
		x.onBodyReply(s, v.ResponseBody.GetResponse())
	case *extprocv3.ProcessingResponse_RequestTrailers:
		x.onTrailersReply(q, v.RequestTrailers.GetHeaderMutation())
	case *extprocv3.ProcessingResponse_ResponseTrailers:
		x.onTrailersReply(s, v.ResponseTrailers.GetHeaderMutation())
	case *extprocv3.ProcessingResponse_ImmediateResponse:
		x.onImmediate(v.ImmediateResponse)
	default:
		// StreamedImmediateResponse is not implemented by this data plane.
		x.spurious("spurious_message")
	}
}

func (x *exchange) onOverrideTimeout(v time.Duration) {
	f := x.p.filter
	var d *direction
	for _, c := range x.d {
		if c.timerOn {
			d = c
			break
		}
	}
	if f.MaxMessageTimeout == 0 || v < time.Millisecond || v > f.MaxMessageTimeout || d == nil || d.overridden {
		x.p.stats.overrideIgnored.Add(1)
		return
	}
	x.p.stats.overrideRecv.Add(1)
	d.overridden = true
	x.armTimer(d, v)
}

// applyModeOverride implements ext_proc.cc onReceiveMessage/effectiveModeOverride.
func (x *exchange) applyModeOverride(o ProcessingMode) {
	f := x.p.filter
	if !f.AllowModeOverride || f.SendBodyWithoutWaitingForHeaderResponse ||
		f.RequestBody == BodyFullDuplex || f.ResponseBody == BodyFullDuplex {
		return
	}
	m := f.ProcessingMode // merge against the FILTER-level mode
	if o.RequestHeader != HeaderDefault {
		m.RequestHeader = o.RequestHeader
	}
	if o.ResponseHeader != HeaderDefault {
		m.ResponseHeader = o.ResponseHeader
	}
	if o.RequestTrailer != HeaderDefault {
		m.RequestTrailer = o.RequestTrailer
	}
	if o.ResponseTrailer != HeaderDefault {
		m.ResponseTrailer = o.ResponseTrailer
	}
	m.RequestBody, m.ResponseBody = o.RequestBody, o.ResponseBody
	if len(f.AllowedOverrideModes) > 0 {
		ok := false
		for _, a := range f.AllowedOverrideModes {
			a.RequestHeader = m.RequestHeader // compared on all fields but request_header_mode
			if a == m {
				ok = true
				break
			}
		}
		if !ok {
			return
		}
	}
	x.applyMode(m)
}

func (x *exchange) spurious(details string) {
	x.p.stats.spurious.Add(1)
	if x.p.filter.FailureModeAllow {
		x.p.stats.failOpen.Add(1)
		x.abandon()
		return
	}
	x.localReply(x.p.filter.StatusOnError, errBody(x.p.filter.StatusOnError), nil, details)
}

func (x *exchange) onTimeout(d *direction) {
	if !x.active || !d.timerOn {
		return
	}
	d.timerOn = false
	x.p.stats.timeouts.Add(1)
	if x.p.filter.FailureModeAllow {
		x.p.stats.failOpen.Add(1)
		x.abandon()
		return
	}
	x.localReply(http.StatusGatewayTimeout, errBody(http.StatusGatewayTimeout), nil, "ext_proc_error_per-message_timeout_exceeded")
}

func (x *exchange) mutate(h *headerList, m *extprocv3.HeaderMutation, mc mutationCtx) bool {
	n, err := x.p.checker.apply(h, m, mc)
	if n > 0 {
		x.p.stats.rejected.Add(int64(n))
	}
	if err != nil {
		var em *errMutation
		details := err.Error()
		if errors.As(err, &em) {
			details = em.details
		}
		x.localReply(x.p.filter.StatusOnError, errBody(x.p.filter.StatusOnError), nil, details)
		return false
	}
	return true
}

// reroute re-selects the route after clear_route_cache (request path only).
func (x *exchange) reroute() {
	d := x.d[dReq]
	path, _ := d.hdrs.get(":path")
	x.route = x.p.routeFor(path)
	x.rerouted = true
}

func (x *exchange) onHeadersReply(d *direction, cr *extprocv3.CommonResponse) {
	replace := cr.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE && cr.GetBodyMutation() != nil
	if !x.mutate(&d.hdrs, cr.GetHeaderMutation(), mutationCtx{removeCL: x.shouldRemoveCL(d), allowMethod: replace}) {
		return
	}
	if d.kind == dReq && cr.GetClearRouteCache() && cr.GetHeaderMutation() != nil {
		x.reroute()
	}
	x.setState(d, cbIdle)
	if cr.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE {
		if bm := cr.GetBodyMutation(); bm != nil {
			var body []byte
			switch m := bm.GetMutation().(type) {
			case *extprocv3.BodyMutation_Body:
				body = m.Body
			case *extprocv3.BodyMutation_StreamedResponse:
				body = m.StreamedResponse.GetBody()
			}
			d.hdrs.del("content-length")
			d.drain, d.buf, d.hasTrailers, d.trailers = true, nil, false, nil
			x.release(d)
			if x.done {
				return
			}
			x.forward(d, body)
			x.endBody(d)
		} else {
			x.passThrough(d)
		}
		x.maybeFinish(d)
		return
	}
	if d.noBody {
		x.release(d)
		x.endBody(d)
		x.maybeFinish(d)
		return
	}
	switch d.bodyMode {
	case BodyBuffered:
		if d.bodyEOS {
			x.sendBufferedBody(d, cbBufferedBody)
		}
	case BodyBufferedPartial:
		if d.bodyEOS {
			x.sendBufferedBody(d, cbBufferedBody)
		} else if int64(len(d.buf)) > x.p.limit {
			x.sendBufferedBody(d, cbPartialBody)
		}
	case BodyStreamed:
		if d.bodyEOS && len(d.queue) == 0 {
			// complete body available: sent as one chunk in the buffered callback state
			x.sendBufferedBody(d, cbBufferedBody)
			return
		}
		x.release(d)
		if len(d.queue) > 0 {
			x.setState(d, cbStreamedBody)
			x.armTimer(d, x.p.filter.MessageTimeout)
		}
		if len(d.buf) > 0 {
			c := chunk{data: d.buf}
			d.buf = nil
			x.sendStreamed(d, c)
		}
	case BodyFullDuplex:
		x.release(d)
	default:
		x.passThrough(d)
		x.maybeFinish(d)
	}
}

// passThrough releases the headers and lets the body flow unprocessed.
func (x *exchange) passThrough(d *direction) {
	d.unprocessed = true
	x.release(d)
	if x.done {
		return
	}
	if len(d.buf) > 0 {
		x.forward(d, d.buf)
		d.buf = nil
	}
	if d.bodyEOS {
		x.endBody(d)
	}
}

// maybeFinish closes the side stream once nothing more can be sent
// (1.37 stream-close optimisation; BUFFERED modes keep it until the end).
func (x *exchange) maybeFinish(d *direction) {
	if !x.active || d.kind != dResp || d.state != cbIdle {
		return
	}
	if d.ended || (d.unprocessed && !d.sendTrailers) {
		x.finishProcessing("processing_complete")
	}
}

func (x *exchange) sendBufferedBody(d *direction, st cbState) {
	msg := &extprocv3.ProcessingRequest{}
	hb := &extprocv3.HttpBody{Body: d.buf, EndOfStream: d.bodyEOS && !d.hasTrailers}
	if d.kind == dReq {
		msg.Request = &extprocv3.ProcessingRequest_RequestBody{RequestBody: hb}
	} else {
		msg.Request = &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: hb}
	}
	d.sentLen = len(d.buf)
	x.setState(d, st)
	x.armTimer(d, x.p.filter.MessageTimeout)
	x.send(d, msg)
}

func (x *exchange) sendStreamed(d *direction, c chunk) {
	d.queue = append(d.queue, c)
	msg := &extprocv3.ProcessingRequest{}
	hb := &extprocv3.HttpBody{Body: c.data, EndOfStream: c.eos}
	if d.kind == dReq {
		msg.Request = &extprocv3.ProcessingRequest_RequestBody{RequestBody: hb}
	} else {
		msg.Request = &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: hb}
	}
	if d.state != cbHeaders && d.bodyMode != BodyFullDuplex {
		x.setState(d, cbStreamedBody)
	}
	x.armTimer(d, x.p.filter.MessageTimeout) // re-armed per pipelined chunk
	x.send(d, msg)
}

// onBody handles a body chunk from the downstream client or the upstream.
func (x *exchange) onBody(d *direction, ev bodyEv) {
	if ev.err != nil {
		if d.kind == dReq {
			// The client went away or sent a malformed body (bad chunked
			// encoding): refuse; the connection is closed afterwards.
			x.localReply(http.StatusBadRequest, errBody(http.StatusBadRequest), nil, "downstream_request_body_error")
			return
		}
		x.p.log.Debug("upstream body error", "err", ev.err)
		if x.wroteHeaders {
			x.p.recordLocal(x.r, x.route, 0, "upstream_reset_after_response_started", true)
			x.reset("upstream_reset_after_response_started")
		} else {
			x.localReply(http.StatusBadGateway, []byte("upstream reset\n"), nil, "upstream_reset_before_response_complete")
		}
		return
	}
	if ev.eos {
		d.bodyEOS = true
		if len(ev.trailers) > 0 {
			d.trailers, d.hasTrailers = ev.trailers, true
		}
		x.traceAdd(TraceEvent{Kind: EventBodyEnd, Details: d.kind.String()})
	}
	c := chunk{data: ev.data, eos: ev.eos && !d.hasTrailers}
	if d.drain || d.ended {
		return
	}
	if !x.active || d.unprocessed {
		if !d.released {
			x.hold(d, c.data)
			return
		}
		x.forward(d, c.data)
		if d.bodyEOS {
			x.endBody(d)
		}
		return
	}
	switch d.bodyMode {
	case BodyBuffered, BodyBufferedPartial:
		x.hold(d, c.data)
		if d.bodyMode == BodyBuffered && int64(len(d.buf)) > x.p.limit {
			x.overLimit(d)
			return
		}
		if d.state == cbHeaders || d.state == cbBufferedBody || d.state == cbPartialBody {
			return // held until the pending reply
		}
		if d.bodyEOS {
			st := cbBufferedBody
			if d.bodyMode == BodyBufferedPartial {
				st = cbPartialBody
			}
			x.sendBufferedBody(d, st)
		} else if d.bodyMode == BodyBufferedPartial && int64(len(d.buf)) > x.p.limit {
			x.sendBufferedBody(d, cbPartialBody)
		}
	case BodyStreamed, BodyFullDuplex:
		waiting := d.state == cbHeaders && d.bodyMode == BodyStreamed && !x.p.filter.SendBodyWithoutWaitingForHeaderResponse
		if waiting {
			x.hold(d, c.data)
			return
		}
		if len(c.data) > 0 || c.eos {
			x.sendStreamed(d, c)
			return
		}
		if d.hasTrailers && len(d.queue) == 0 && d.state != cbHeaders {
			x.finishBody(d)
		}
	default:
		if !d.released {
			x.hold(d, c.data)
			return
		}
		x.forward(d, c.data)
		if d.bodyEOS {
			x.endBody(d)
		}
	}
}

// hold appends b (a chunk the reader allocated, never reused) to d's held
// body. The buffer is sized once from the declared length when there is
// one (at most the buffer limit; the in-flight cap has reserved it), else
// doubled: append's 1.25× growth allocated five times a multi-MiB body
// (issue 11 #23). A chunk that is the whole body is taken over.
func (x *exchange) hold(d *direction, b []byte) {
	need := len(d.buf) + len(b)
	if need <= cap(d.buf) {
		d.buf = append(d.buf, b...)
		return
	}
	want := x.declaredLength(d)
	if d.buf == nil && int64(len(b)) >= want {
		d.buf = b
		return
	}
	c := max(2*cap(d.buf), need)
	if want > int64(need) && want <= x.p.limit+1 {
		c = int(want)
	} else if lim := int(min(x.p.limit+1, math.MaxInt32)); c > lim {
		c = max(need, lim) // past the limit the body is refused anyway
	}
	nb := make([]byte, len(d.buf), c)
	copy(nb, d.buf)
	d.buf = append(nb, b...)
}

// declaredLength is d's Content-Length, or -1 when none was declared.
func (x *exchange) declaredLength(d *direction) int64 {
	if d.kind == dReq {
		return x.r.ContentLength
	}
	if x.resp != nil {
		return x.resp.ContentLength
	}
	return -1
}

func (x *exchange) overLimit(d *direction) {
	if d.kind == dReq {
		x.localReply(http.StatusRequestEntityTooLarge, []byte("Payload Too Large"), nil, "request_payload_too_large")
		return
	}
	x.localReply(http.StatusInternalServerError, []byte("Internal Server Error"), nil, "response_payload_too_large")
}

func (x *exchange) onBodyReply(d *direction, cr *extprocv3.CommonResponse) {
	bm := cr.GetBodyMutation()
	_, streamedResp := bm.GetMutation().(*extprocv3.BodyMutation_StreamedResponse)
	if d.bodyMode == BodyFullDuplex {
		if !streamedResp || d.state == cbHeaders || !d.released {
			x.spurious("spurious_message")
			return
		}
		sr := bm.GetStreamedResponse()
		if len(d.queue) > 0 {
			d.queue = d.queue[1:] // bookkeeping only: original data is drained
		}
		x.forward(d, sr.GetBody())
		if sr.GetEndOfStream() {
			d.fdServerEOS = true
			if !d.hasTrailers || d.trailersSent {
				x.endBody(d)
				x.maybeFinish(d)
			}
		}
		return
	}
	if streamedResp {
		x.spurious("spurious_message")
		return
	}
	switch d.state {
	case cbBufferedBody, cbPartialBody:
		st := d.state
		if !d.released && d.sendHeaders {
			if !x.mutate(&d.hdrs, cr.GetHeaderMutation(), mutationCtx{removeCL: x.shouldRemoveCL(d), allowMethod: cr.GetStatus() == extprocv3.CommonResponse_CONTINUE_AND_REPLACE}) {
				return
			}
			if d.kind == dReq && cr.GetClearRouteCache() && cr.GetHeaderMutation() != nil {
				x.reroute()
			}
		}
		body, rest := d.buf[:d.sentLen], d.buf[d.sentLen:]
		if m, ok := mutatedBody(bm); ok {
			body = m
			if !d.released {
				if v, has := d.hdrs.get("content-length"); has {
					if n, err := parseCL(v); err != nil || n != int64(len(body)) {
						x.localReply(x.p.filter.StatusOnError, errBody(x.p.filter.StatusOnError), nil, "mismatch_between_content_length_and_the_length_of_the_mutated_body")
						return
					}
				}
			}
		}
		d.buf = nil
		x.setState(d, cbIdle)
		if d.kind == dResp && d.bodyMode == BodyBuffered && st == cbBufferedBody && d.bodyEOS && !d.hasTrailers && !d.released {
			// The whole response is in hand: declare its length, so the
			// client gets it in one write instead of chunk by chunk.
			if _, has := d.hdrs.get("content-length"); !has {
				d.hdrs.set("content-length", strconv.Itoa(len(body)))
			}
		}
		x.release(d)
		if x.done {
			return
		}
		x.forward(d, body)
		if st == cbPartialBody {
			d.unprocessed = true
			x.forward(d, rest) // arrived while the partial reply was pending
		}
		if d.bodyEOS {
			x.finishBody(d)
		}
	case cbStreamedBody:
		if len(d.queue) == 0 {
			x.spurious("spurious_message")
			return
		}
		c := d.queue[0]
		d.queue = d.queue[1:]
		data := c.data
		if m, ok := mutatedBody(bm); ok {
			data = m
		}
		if len(d.queue) == 0 {
			x.setState(d, cbIdle)
		}
		x.forward(d, data)
		if c.eos {
			x.endBody(d)
			x.maybeFinish(d)
		} else if len(d.queue) == 0 && d.bodyEOS {
			x.finishBody(d)
		}
	default:
		x.spurious("spurious_message")
	}
}

func mutatedBody(bm *extprocv3.BodyMutation) ([]byte, bool) {
	switch m := bm.GetMutation().(type) {
	case *extprocv3.BodyMutation_Body:
		return m.Body, true
	case *extprocv3.BodyMutation_ClearBody:
		if m.ClearBody {
			return nil, true
		}
	}
	return nil, false
}

// finishBody runs once the whole body has been forwarded: trailers go to the
// processor (mode SEND) or straight on.
func (x *exchange) finishBody(d *direction) {
	if d.ended {
		return
	}
	if d.hasTrailers && x.active && d.sendTrailers && !d.trailersSent && !d.unprocessed {
		d.trailersSent = true
		msg := &extprocv3.ProcessingRequest{}
		ht := &extprocv3.HttpTrailers{Trailers: d.trailers.proto()}
		if d.kind == dReq {
			msg.Request = &extprocv3.ProcessingRequest_RequestTrailers{RequestTrailers: ht}
		} else {
			msg.Request = &extprocv3.ProcessingRequest_ResponseTrailers{ResponseTrailers: ht}
		}
		x.setState(d, cbTrailers)
		x.armTimer(d, x.p.filter.MessageTimeout)
		x.send(d, msg)
		return
	}
	x.endBody(d)
	x.maybeFinish(d)
}

func (x *exchange) onTrailersReply(d *direction, m *extprocv3.HeaderMutation) {
	if d.state != cbTrailers && !(d.bodyMode == BodyFullDuplex && d.trailersSent) {
		x.spurious("spurious_message")
		return
	}
	if !x.mutate(&d.trailers, m, mutationCtx{}) {
		return
	}
	x.setState(d, cbIdle)
	if d.bodyMode != BodyFullDuplex || d.fdServerEOS {
		x.endBody(d)
		x.maybeFinish(d)
	}
}

func (x *exchange) onImmediate(ir *extprocv3.ImmediateResponse) {
	x.p.stats.immediate.Add(1)
	code := int(ir.GetStatus().GetCode())
	if code < 200 || code > 999 {
		code = http.StatusOK
	}
	var hdr headerList
	// header failures are only logged by Envoy; rejected ones are dropped
	if n, err := x.p.checker.apply(&hdr, ir.GetHeaders(), mutationCtx{}); err != nil || n > 0 {
		x.p.stats.rejected.Add(int64(n))
	}
	details := strings.Join(strings.Fields(ir.GetDetails()), "_")
	x.immediate = true // the processor's own body, not reformatted
	x.localReply(code, ir.GetBody(), hdr, details)
}

// abandon stops processing and lets everything continue unmodified
// (OK close, failure_mode_allow): held headers, buffered data and queued
// chunks are released as they are.
func (x *exchange) abandon() {
	x.finishProcessing("abandoned")
	for _, d := range x.d {
		if !d.started || d.drain || d.ended {
			continue
		}
		d.state = cbIdle
		d.unprocessed = true
		x.release(d)
		if x.done {
			return
		}
		for _, c := range d.queue {
			x.forward(d, c.data)
		}
		d.queue = nil
		if len(d.buf) > 0 {
			x.forward(d, d.buf)
			d.buf = nil
		}
		if d.bodyEOS || d.noBody {
			x.endBody(d)
		}
	}
}

// ---- forwarding ----

// release forwards the (held) headers to the next hop, once.
func (x *exchange) release(d *direction) {
	if d.released || x.done {
		return
	}
	d.released = true
	if d.kind == dReq {
		x.releaseRequest(d)
		return
	}
	h := x.w.Header()
	d.hdrs.toHTTP(h)
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // no content sniffing: forward exactly what the upstream sent
	}
	code := http.StatusOK
	if v, ok := d.hdrs.get(":status"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			code = n
		}
	}
	x.w.WriteHeader(code)
	x.wroteHeaders = true
	x.flush(d)
}

func (x *exchange) releaseRequest(d *direction) {
	if x.route == nil {
		x.localReply(http.StatusNotFound, []byte("no route\n"), nil, "route_not_found")
		return
	}
	path, _ := d.hdrs.get(":path")
	if path != x.path {
		// rewritten by the processor: the same hygiene as the client's path
		np, err := normalizePath(path)
		if err != nil {
			x.localReply(http.StatusBadRequest, []byte("bad request\n"), nil, "path_normalization_failed")
			return
		}
		path = np
	}
	method, _ := d.hdrs.get(":method")
	auth, _ := d.hdrs.get(":authority")
	if h, ok := d.hdrs.get("host"); ok {
		auth = h
	}
	base := x.route.Upstream
	if v, _ := d.hdrs.get(RouteHeader); x.rerouted && x.route.Sandbox != nil && strings.EqualFold(v, "sandbox") {
		base = x.route.Sandbox
	}
	u := upstreamURL(base, x.route.PathPrefix, path)
	hdr := make(http.Header, len(d.hdrs))
	d.hdrs.toHTTP(hdr)
	hdr.Del(RouteHeader)
	hdr.Del("Content-Length")
	for _, k := range x.route.RemoveRequestHeaders {
		hdr.Del(k)
	}
	if _, ok := hdr["User-Agent"]; !ok {
		hdr["User-Agent"] = []string{""} // no Go default User-Agent
	}
	host := u.Host
	if auth != x.origAuth {
		host = auth // :authority rewritten by the processor (allow_all_routing)
	}
	var body io.ReadCloser = http.NoBody
	cl := int64(0)
	var trailer http.Header
	if !d.noBody || d.drain {
		x.pipe = newBodyPipe()
		body, cl = x.pipe, -1
		if v, ok := d.hdrs.get("content-length"); ok {
			if n, err := parseCL(v); err == nil {
				cl = n
			}
		}
		if cl == 0 {
			body = http.NoBody
		}
		if cl < 0 {
			trailer = http.Header{}
			x.pipe.trailer = trailer
		}
	}
	req, err := http.NewRequestWithContext(x.ctx, method, u.String(), body)
	if err != nil {
		x.localReply(http.StatusBadRequest, []byte("bad request\n"), nil, "invalid_upstream_request")
		return
	}
	req.Header, req.Host, req.ContentLength, req.Trailer = hdr, host, cl, trailer
	if body == http.NoBody {
		req.ContentLength = 0
	}
	go func() {
		resp, err := x.p.transport.RoundTrip(req)
		select {
		case x.upCh <- upEv{resp: resp, err: err}:
		case <-x.ctx.Done():
			if resp != nil {
				_ = resp.Body.Close()
			}
		}
	}()
}

func (x *exchange) forward(d *direction, data []byte) {
	if len(data) == 0 || x.done {
		return
	}
	if d.kind == dReq {
		if x.pipe != nil {
			x.pipe.write(data)
		}
		return
	}
	if _, err := x.w.Write(data); err != nil {
		x.done = true
		return
	}
	x.flush(d)
}

// flush pushes what was written to the client while the response is still
// streaming (SSE events must not wait). When the whole upstream body is in
// hand, no trailers follow and the length is declared, the rest is written
// at once and the handler's return flushes it: one write instead of one per
// header block and chunk, with the same framing.
func (x *exchange) flush(d *direction) {
	if d.noBody || d.bodyEOS && !d.hasTrailers && x.w.Header().Get("Content-Length") != "" {
		return
	}
	if err := x.rc.Flush(); err != nil {
		x.done = true
	}
}

// endBody forwards the end of the body (with trailers), once.
func (x *exchange) endBody(d *direction) {
	if d.ended {
		return
	}
	d.ended = true
	if d.kind == dReq {
		if x.pipe != nil {
			x.pipe.finish(d.trailers, nil)
		}
		return
	}
	if !x.done {
		for _, e := range d.trailers {
			x.w.Header().Add(http.TrailerPrefix+e.k, e.v)
		}
	}
	x.done = true
}

func (x *exchange) onUpstream(ev upEv) {
	if x.done {
		if ev.resp != nil {
			_ = ev.resp.Body.Close()
		}
		return
	}
	if ev.err != nil {
		if x.r.Context().Err() != nil {
			x.done = true
			return
		}
		x.p.log.Debug("upstream request failed", "err", ev.err)
		x.localReply(http.StatusServiceUnavailable, []byte("upstream connect error or disconnect/reset before headers\n"), nil,
			"upstream_reset_before_response_started{connection_failure}")
		return
	}
	resp := ev.resp
	x.resp = resp
	d := x.d[dResp]
	d.started = true
	d.hdrs = headerList{{":status", strconv.Itoa(resp.StatusCode)}}
	d.hdrs.fromHTTP(resp.Header)
	d.noBody = resp.Body == http.NoBody || resp.ContentLength == 0 || x.r.Method == http.MethodHead ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	if !d.noBody {
		go func() { _, _ = x.readBody(resp.Body, x.usCh, func() http.Header { return resp.Trailer }, nil) }()
	}
	x.startHeaders(d)
	x.maybeFinish(d)
}

// localReply sends a locally generated response, or resets the downstream
// stream when response headers were already sent.
func (x *exchange) localReply(code int, body []byte, hdr headerList, details string) {
	if x.done {
		return
	}
	x.finishProcessing("local_reply")
	if !x.immediate {
		// the processor records its own refusals; these are the proxy's
		status := code
		if x.wroteHeaders {
			status = 0
		}
		x.p.recordLocal(x.r, x.route, status, details, x.resp != nil)
	}
	if x.wroteHeaders {
		x.reset(details)
		return
	}
	x.p.stats.local.Add(1)
	x.traceAdd(TraceEvent{Kind: EventLocalReply, Status: code, Details: details})
	hdr = x.markClose(hdr)
	if !x.immediate {
		hdr, body = x.p.formatLocal(code, details, hdr, body)
	}
	writeLocal(x.w, code, hdr, body)
	x.done = true
}

func (x *exchange) reset(details string) {
	x.p.stats.resets.Add(1)
	x.traceAdd(TraceEvent{Kind: EventReset, Details: details})
	x.aborted = true
	x.done = true
}

// errBody is the short body of a proxy-generated error reply.
func errBody(code int) []byte { return []byte(http.StatusText(code) + "\n") }
