package dataplane

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
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
