package extproc

import (
	"context"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/mcp"
)

// LocalRefusal is a reply the data plane in front of the processor made
// without it (a path escape, a body past the buffer limit, an unreachable
// upstream, a processor failure): no message was read, so no decision
// recorded it. RecordLocal records it like a protocol refusal.
type LocalRefusal struct {
	Server string // the route's server name ("" when none matched)
	// Method is the MCP method when the request named it in a header
	// (Mcp-Method), else "".
	Method string
	Rule   string // the reason, e.g. "dataplane:path-normalization-failed"
	Code   int    // the JSON-RPC error code answered (0: none, a reset)
	Result bool   // the upstream had answered: a result-plane refusal
}

// RecordLocal records a data-plane refusal once, content-free, through the
// same path as every outcome (audit record, decision metric, observers).
// It returns the audit log's error.
func (s *Server) RecordLocal(r LocalRefusal) error {
	if s.eng.Audit == nil && s.eng.Telemetry == nil && len(s.eng.Observers) == 0 {
		return nil
	}
	st := s.newStream(context.Background())
	st.agent = anonymous // the data plane authenticated nobody
	st.serverName = r.Server
	if r.Server != "" {
		st.server = st.rt.server(r.Server)
	}
	plane := audit.PlaneRequest
	if r.Result {
		plane = audit.PlaneResult
	}
	o := st.newOutcome(plane, mcp.Truncate(r.Method, 64), "", "")
	o.refused(r.Code, r.Rule)
	if r.Code == 0 {
		o.ErrorType = "" // a reset answers no error
	}
	return st.record(o)
}
