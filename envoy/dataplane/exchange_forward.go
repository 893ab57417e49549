package dataplane

import (
	"io"
	"net/http"
	"strconv"
	"strings"
)

// This file: forwarding held headers and bodies to the next hop, upstream
// responses, local replies and resets.

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
