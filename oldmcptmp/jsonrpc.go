package oldmcptmp

import (
	"strconv"

	"github.com/tidwall/gjson"
)

// JSON-RPC and MCP error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodePolicyDenied is Portcullis's implementation-defined code (JSON-RPC
	// reserves -32000..-32099 for servers; MCP 2026-07-28 leaves
	// -32000..-32019 to implementations) for a call refused by policy.
	CodePolicyDenied = -32001
	// CodeApprovalRequired marks a call held for a person's approval.
	CodeApprovalRequired = -32002
	// CodeHeaderMismatch is MCP 2026-07-28's HeaderMismatch.
	CodeHeaderMismatch = -32020
	// CodeUnsupportedProtocolVersion is MCP 2026-07-28's code.
	CodeUnsupportedProtocolVersion = -32022
)

// Kind is the JSON-RPC message type.
type Kind uint8

// Message kinds.
const (
	KindRequest Kind = iota + 1
	KindNotification
	KindResult
	KindError
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindNotification:
		return "notification"
	case KindResult:
		return "response"
	case KindError:
		return "error"
	}
	return "unknown"
}

// Message is one parsed JSON-RPC message. Raw is the exact bytes of the
// message; Params, Result and Error are gjson views into it.
type Message struct {
	Kind   Kind
	ID     ID
	Method string
	Params gjson.Result
	Result gjson.Result
	Error  gjson.Result
	Raw    []byte
}

// Name returns the MCP "name" of a request: params.name for tools/call and
// prompts/get, params.uri for resources/read, "" otherwise.
func (m *Message) Name() string {
	switch m.Method {
	case "tools/call", "prompts/get":
		return m.Params.Get("name").String()
	case "resources/read":
		return m.Params.Get("uri").String()
	}
	return ""
}

// ID is a JSON-RPC id kept as its raw JSON text ("7" or "\"abc\""), which
// is also the canonical key for matching responses to requests.
type ID string

// Valid reports whether the id was present.
func (id ID) Valid() bool { return id != "" }

// ProtocolError is a refusal with a JSON-RPC code, an HTTP status and a
// message a person can act on.
type ProtocolError struct {
	HTTPStatus int
	Code       int
	Msg        string
	ID         ID // the offending message's id when known
}

func (e *ProtocolError) Error() string { return e.Msg }

func protoErr(status, code int, id ID, msg string) *ProtocolError {
	return &ProtocolError{HTTPStatus: status, Code: code, Msg: msg, ID: id}
}

// ParseOptions bound parsing.
type ParseOptions struct {
	MaxDepth int
	// AllowBatch permits a top-level JSON array (2025-03-26 and earlier).
	AllowBatch bool
}

// ParseBody validates and parses an HTTP body holding one JSON-RPC message or,
// when allowed, a batch. It never returns a partially valid result: any
// problem rejects the whole body.
func ParseBody(body []byte, opt ParseOptions) (msgs []Message, batch bool, perr *ProtocolError) {
	if err := ValidateJSON(body, opt.MaxDepth); err != nil {
		return nil, false, protoErr(400, CodeParseError, "", "parse error: "+err.Error())
	}
	root := gjson.ParseBytes(body)
	if root.IsArray() {
		if !opt.AllowBatch {
			return nil, true, protoErr(400, CodeInvalidRequest, "",
				"invalid request: JSON-RPC batches are not allowed in this MCP protocol revision (only 2025-03-26 and earlier); send one message per POST")
		}
		elems := root.Array()
		if len(elems) == 0 {
			return nil, true, protoErr(400, CodeInvalidRequest, "", "invalid request: empty JSON-RPC batch")
		}
		msgs = make([]Message, 0, len(elems))
		for i, e := range elems {
			m, perr := parseOne(e, body)
			if perr != nil {
				perr.Msg = "batch element " + strconv.Itoa(i) + ": " + perr.Msg
				return nil, true, perr
			}
			msgs = append(msgs, m)
		}
		return msgs, true, nil
	}
	m, perr := parseOne(root, body)
	if perr != nil {
		return nil, false, perr
	}
	return []Message{m}, false, nil
}

// ParseMessage parses one JSON-RPC message (for example an SSE event's data).
func ParseMessage(b []byte, maxDepth int) (Message, *ProtocolError) {
	if err := ValidateJSON(b, maxDepth); err != nil {
		return Message{}, protoErr(400, CodeParseError, "", "parse error: "+err.Error())
	}
	return parseOne(gjson.ParseBytes(b), b)
}

func parseOne(v gjson.Result, body []byte) (Message, *ProtocolError) {
	if !v.IsObject() {
		return Message{}, protoErr(400, CodeInvalidRequest, "", "invalid request: a JSON-RPC message must be a JSON object")
	}
	m := Message{Raw: rawOf(v, body)}
	idv := v.Get("id")
	if idv.Exists() {
		switch idv.Type {
		case gjson.String:
			m.ID = ID(idv.Raw)
		case gjson.Number:
			if !isInteger(idv.Raw) {
				return m, protoErr(400, CodeInvalidRequest, "", "invalid request: id must be a string or an integer, got "+Truncate(idv.Raw, 32))
			}
			m.ID = ID(idv.Raw)
		default:
			return m, protoErr(400, CodeInvalidRequest, "", "invalid request: id must be a string or an integer (null is not allowed in MCP)")
		}
	}
	ver := v.Get("jsonrpc")
	if ver.Type != gjson.String || ver.Str != "2.0" {
		if !ver.Exists() {
			return m, protoErr(400, CodeInvalidRequest, m.ID, `invalid request: missing "jsonrpc": "2.0"`)
		}
		return m, protoErr(400, CodeInvalidRequest, m.ID, `invalid request: unsupported JSON-RPC version `+Truncate(ver.Raw, 32)+`; only "2.0" is accepted`)
	}
	method := v.Get("method")
	result, errv := v.Get("result"), v.Get("error")
	switch {
	case method.Exists():
		if method.Type != gjson.String || method.Str == "" {
			return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid request: method must be a non-empty string")
		}
		if result.Exists() || errv.Exists() {
			return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid request: a message cannot carry both method and result/error")
		}
		m.Method = method.Str
		m.Params = v.Get("params")
		if m.Params.Exists() && !m.Params.IsObject() && !m.Params.IsArray() {
			return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid request: params must be an object or an array")
		}
		if m.ID.Valid() {
			m.Kind = KindRequest
		} else {
			m.Kind = KindNotification
		}
	case result.Exists() && errv.Exists():
		return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid response: result and error are mutually exclusive")
	case result.Exists():
		if !m.ID.Valid() {
			return m, protoErr(400, CodeInvalidRequest, "", "invalid response: a result needs an id")
		}
		m.Kind, m.Result = KindResult, result
	case errv.Exists():
		if !errv.IsObject() || errv.Get("code").Type != gjson.Number {
			return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid response: error must be an object with a numeric code")
		}
		m.Kind, m.Error = KindError, errv
	default:
		return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid request: a JSON-RPC message needs a method (request/notification) or a result/error (response)")
	}
	return m, nil
}

func rawOf(v gjson.Result, body []byte) []byte {
	if v.Index > 0 || (v.Index == 0 && len(v.Raw) <= len(body)) {
		if v.Index+len(v.Raw) <= len(body) {
			return body[v.Index : v.Index+len(v.Raw)]
		}
	}
	return []byte(v.Raw)
}

func isInteger(raw string) bool {
	if raw == "" {
		return false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '-' && i == 0 {
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PeekID returns the JSON-RPC id of a single-message body when it is a
// string or an integer, or "" (batches, invalid JSON, missing or bad id).
// Refusals use it to keep the request's id even when the body is refused.
func PeekID(body []byte) ID {
	if !gjson.ValidBytes(body) {
		return ""
	}
	v := gjson.GetBytes(body, "id")
	switch v.Type {
	case gjson.String:
		return ID(v.Raw)
	case gjson.Number:
		if isInteger(v.Raw) {
			return ID(v.Raw)
		}
	}
	return ""
}
