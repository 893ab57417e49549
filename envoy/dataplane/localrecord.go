package dataplane

import "net/http"

// LocalReply describes one reply the proxy made itself, without the
// processor's say: a refusal before routing (a path that escapes its
// route), a body past the buffer limit, an unreachable upstream, a
// processor failure or timeout, or a reset. A processor's
// ImmediateResponse is not one (the processor records its own refusals).
// It carries no body and no header values beyond the two named here.
type LocalReply struct {
	Status  int    // HTTP status answered; 0 when the stream was reset
	Details string // Envoy-style response code details ("path_normalization_failed")
	Route   string // the route's name; "" before routing or without one
	Method  string // the HTTP method
	// MCPMethod is the request's Mcp-Method header (2026-07-28), when sent,
	// cut to 64 bytes: the data plane parses no body.
	MCPMethod string
	// Response is true when the upstream had answered (a response-side
	// failure: response too large, upstream reset).
	Response bool
}

// LocalReplyRecorder records every local reply once, e.g. in the audit
// log (a security gateway accounts for each refusal). It is called on the
// request's goroutine before the reply is written and must not block.
type LocalReplyRecorder interface {
	RecordLocalReply(LocalReply)
}

// maxMCPMethod bounds the Mcp-Method value handed to the recorder.
const maxMCPMethod = 64

func (p *Proxy) recordLocal(r *http.Request, rt *Route, status int, details string, response bool) {
	if p.recorder == nil {
		return
	}
	lr := LocalReply{Status: status, Details: details, Method: r.Method, Response: response}
	if rt != nil {
		lr.Route = rt.Name
	}
	if m := r.Header.Get("Mcp-Method"); m != "" {
		if len(m) > maxMCPMethod {
			m = m[:maxMCPMethod]
		}
		lr.MCPMethod = m
	}
	p.recorder.RecordLocalReply(lr)
}
