package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// This file: the ext_proc stream of an exchange: messages to the processor,
// its replies per phase, timeouts and mode overrides.

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
