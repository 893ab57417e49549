package dataplane

import (
	"errors"
	"io"
	"strings"
	"time"
)

// Keeping an HTTP/1 connection usable after a reply that did not wait for the
// whole request body.
//
// The proxy runs every handler in full-duplex mode (it reads the request body
// while it may already answer), and in that mode net/http does not consume an
// unread request body before reusing the connection: whatever the client still
// sends would be parsed as the next request (a plain-text "400 Bad Request" to
// an innocent follow-up request, or a desynchronised connection). So, like
// Envoy's HTTP/1 codec:
//   - a local reply sent before the request body was fully received says
//     "Connection: close" (net/http then closes the connection after it);
//   - before the handler returns, the rest of the body is drained, bounded in
//     bytes (maxDrainBytes) and time (drainTimeout), so the close does not
//     turn into a TCP reset that could destroy the reply in the client's
//     receive buffer;
//   - if the body still cannot be completed and the response was already sent
//     without "Connection: close" (an upstream that answered early), the
//     connection is aborted rather than reused.
const (
	maxDrainBytes = 256 << 10 // like net/http's maxPostHandlerReadBytes
	drainTimeout  = 500 * time.Millisecond
	readerGrace   = 2 * time.Second // safety net if a Read ignores its deadline
)

// requestBodyComplete reports whether the client has delivered the whole
// request body (or there is none).
func (x *exchange) requestBodyComplete() bool {
	q := x.d[dReq]
	return q.noBody || q.bodyEOS || x.dsEOF.Load()
}

// markClose adds "Connection: close" to a reply written before the request
// body was complete (HTTP/1 only: HTTP/2 resets just the stream).
func (x *exchange) markClose(hdr headerList) headerList {
	if x.r.ProtoMajor != 1 || x.requestBodyComplete() {
		return hdr
	}
	x.closeSent = true
	hdr.set("connection", "close")
	return hdr
}

// stopBodyReader stops the downstream body reader before the handler
// returns (net/http forbids reading the body afterwards) and leaves the
// connection either at a request boundary or marked for closing.
func (x *exchange) stopBodyReader() {
	h1 := x.r.ProtoMajor == 1
	select {
	case <-x.dsDone:
	default:
		if x.wroteHeaders && !x.aborted {
			// The client may wait for the whole reply before sending the
			// rest of its body.
			_ = x.rc.Flush()
		}
		// x.ctx is cancelled, so the reader stops after its current Read.
		// On HTTP/1 give that Read (and the drain below) a bounded time to
		// finish; on HTTP/2 interrupt it at once.
		deadline := time.Now()
		if h1 {
			deadline = deadline.Add(drainTimeout)
		}
		_ = x.rc.SetReadDeadline(deadline)
		select {
		case <-x.dsDone:
		case <-time.After(drainTimeout + readerGrace):
			x.p.log.Warn("downstream body reader did not stop")
			x.aborted = true
			return
		}
	}
	if !h1 || x.dsEOF.Load() {
		return
	}
	complete := false
	if x.dsErr == nil && !x.expectContinueUnanswered() {
		_, err := io.CopyN(io.Discard, x.r.Body, maxDrainBytes)
		complete = errors.Is(err, io.EOF)
	}
	// The read deadline stays: net/http sets its own before reading the next
	// request, and until then it bounds net/http's own attempt to finish the
	// body when the connection is closed.
	if !complete && !x.closeSent {
		// Whatever was sent promised a reusable connection that is not
		// (an upstream that answered early, or no reply at all): close it.
		x.aborted = true
	}
}

// expectContinueUnanswered reports a client waiting for "100 Continue" that
// never sent a byte: there is nothing to drain, and net/http closes the
// connection itself.
func (x *exchange) expectContinueUnanswered() bool {
	return strings.EqualFold(x.r.Header.Get("Expect"), "100-continue") && x.dsBytes.Load() == 0
}
