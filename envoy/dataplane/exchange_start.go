package dataplane

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// This file: starting an exchange from the downstream request (headers,
// body reader, watermarks).

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
