package oldmcptmp

import (
	"strconv"

	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
)

// ErrorData is the optional "data" of a gateway-generated JSON-RPC error.
// Keys are fixed so clients and tests can rely on them.
type ErrorData struct {
	DecisionID string
	Rule       string
	Server     string
	Tool       string
	Score      int // -1 when no score applies
	Reason     string
	// PolicyVersion is the version of the policy that decided, if any.
	PolicyVersion string
	// Supported and Requested describe an unsupported protocol version.
	Supported []string
	Requested string
	Extra     map[string]string
}

// SupportedRevisions are the MCP revisions the gateway speaks.
var SupportedRevisions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}

// AppendErrorResponse appends a JSON-RPC error response to dst. id is the raw
// JSON id or "" (rendered as null, as JSON-RPC requires when the id is unknown).
func AppendErrorResponse(dst []byte, id ID, code int, msg string, data *ErrorData) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	if id.Valid() {
		dst = append(dst, id...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, msg)
	if data != nil {
		dst = append(dst, `,"data":{"source":"portcullis"`...)
		field := func(k, v string) {
			if v == "" {
				return
			}
			dst = append(dst, ',')
			dst = AppendJSONString(dst, k)
			dst = append(dst, ':')
			dst = AppendJSONString(dst, v)
		}
		field("decision_id", data.DecisionID)
		field("rule", data.Rule)
		field("server", data.Server)
		field("tool", data.Tool)
		field("reason", data.Reason)
		field("policy_version", data.PolicyVersion)
		if len(data.Supported) > 0 {
			dst = append(dst, `,"supported":[`...)
			for i, v := range data.Supported {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = AppendJSONString(dst, v)
			}
			dst = append(dst, ']')
		}
		field("requested", data.Requested)
		if data.Score >= 0 {
			dst = append(dst, `,"score":`...)
			dst = strconv.AppendInt(dst, int64(data.Score), 10)
		}
		for k, v := range data.Extra {
			field(k, v)
		}
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

// ErrorResponse returns a JSON-RPC error response body.
func ErrorResponse(id ID, code int, msg string, data *ErrorData) []byte {
	return AppendErrorResponse(make([]byte, 0, 160+len(msg)), id, code, msg, data)
}

// AppendJSONString appends s as a JSON string literal, replacing invalid UTF-8
// with U+FFFD and escaping HTML-significant characters. It is
// jsondoc.AppendString: the gateway has one JSON string encoder.
func AppendJSONString(dst []byte, s string) []byte { return jsondoc.AppendString(dst, s) }
