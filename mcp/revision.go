package mcp

import (
	"strings"
)

// Revision is an MCP protocol revision date string.
type Revision string

// Known revisions.
const (
	Rev20241105 Revision = "2024-11-05"
	Rev20250326 Revision = "2025-03-26"
	Rev20250618 Revision = "2025-06-18"
	Rev20251125 Revision = "2025-11-25"
	Rev20260728 Revision = "2026-07-28"
)

// DefaultRevision is assumed when a request carries no MCP-Protocol-Version
// header (transport spec, 2025-06-18 onwards).
const DefaultRevision = Rev20250326

// Known reports whether Portcullis understands this revision.
func (r Revision) Known() bool {
	switch r {
	case Rev20241105, Rev20250326, Rev20250618, Rev20251125, Rev20260728:
		return true
	}
	return false
}

// AllowsBatch reports whether JSON-RPC batches are legal (removed in 2025-06-18).
func (r Revision) AllowsBatch() bool { return r == Rev20241105 || r == Rev20250326 }

// Stateless reports whether the revision dropped sessions, initialize and
// GET streams and requires the Mcp-Method/Mcp-Name routing headers.
func (r Revision) Stateless() bool { return r >= Rev20260728 }

// MetaProtocolVersionKey is where 2026-07-28 requests carry their revision.
const MetaProtocolVersionKey = "io.modelcontextprotocol/protocolVersion"

// Header names the gateway reads (lower-case, as Envoy sends them).
const (
	HeaderProtocolVersion = "mcp-protocol-version"
	HeaderSessionID       = "mcp-session-id"
	HeaderMethod          = "mcp-method"
	HeaderName            = "mcp-name"
	HeaderLastEventID     = "last-event-id"
)

// RoutingHeaders are the 2026-07-28 request headers that must agree with the body.
type RoutingHeaders struct {
	Method  string
	Name    string
	Version string
}

// CheckRoutingHeaders enforces that Mcp-Method / Mcp-Name (and, when the body
// carries one, the _meta protocol version) agree with the JSON-RPC body. For
// revisions before 2026-07-28, headers that are present must still agree: a
// policy engine that trusted a lying header would be bypassed.
func CheckRoutingHeaders(rev Revision, h RoutingHeaders, m *Message) *ProtocolError {
	if m.Kind != KindRequest && m.Kind != KindNotification {
		return nil
	}
	if rev.Stateless() && h.Method == "" {
		return protoErr(400, CodeHeaderMismatch, m.ID, "header mismatch: MCP "+string(rev)+" requires the Mcp-Method header on every request (SEP-2243: routing, policy and inspection read the method from the headers, so a request without it is refused rather than guessed); send Mcp-Method: "+m.Method)
	}
	if h.Method != "" && h.Method != m.Method {
		return protoErr(400, CodeHeaderMismatch, m.ID, "header mismatch: Mcp-Method is "+quote(h.Method)+" but the body's method is "+quote(m.Method))
	}
	name := m.Name()
	needsName := m.Method == "tools/call" || m.Method == "resources/read" || m.Method == "prompts/get"
	if rev.Stateless() && needsName && h.Name == "" {
		return protoErr(400, CodeHeaderMismatch, m.ID, "header mismatch: MCP "+string(rev)+" requires the Mcp-Name header for "+m.Method)
	}
	if h.Name != "" {
		hv := decodeHeaderValue(h.Name)
		if !needsName || hv != name {
			return protoErr(400, CodeHeaderMismatch, m.ID, "header mismatch: Mcp-Name is "+quote(h.Name)+" but the body names "+quote(name))
		}
	}
	if rev.Stateless() {
		if mv := m.Params.Get(metaProtocolVersionPath); mv.Exists() && mv.String() != string(rev) {
			return protoErr(400, CodeHeaderMismatch, m.ID, "header mismatch: MCP-Protocol-Version is "+quote(string(rev))+" but params._meta declares "+quote(mv.String()))
		}
	}
	return nil
}

// decodeHeaderValue undoes the 2026-07-28 "=?base64?...?=" encoding for
// non-ASCII header values; other values are returned unchanged.
func decodeHeaderValue(v string) string {
	if strings.HasPrefix(v, "=?base64?") && strings.HasSuffix(v, "?=") {
		if d, err := base64Std(v[len("=?base64?") : len(v)-2]); err == nil {
			return d
		}
	}
	return v
}

// metaProtocolVersionPath is MetaProtocolVersionKey under params._meta as a gjson path.
const metaProtocolVersionPath = `_meta.io\.modelcontextprotocol/protocolVersion`

func quote(s string) string { return string(AppendJSONString(nil, Truncate(s, 128))) }
