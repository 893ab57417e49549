package mcp

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
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
// message; Params, Result and Error are views into the document the one
// tokenizer pass built (Doc, shared by the messages of a batch; Node is
// this message's object).
type Message struct {
	Kind   Kind
	ID     ID
	Method string
	Params Value
	Result Value
	Error  Value
	Raw    []byte
	Doc    *jsondoc.Doc
	Node   int
	// name caches Name: stages ask for it several times per message.
	name string
}

// Name returns the MCP "name" of a request: params.name for tools/call and
// prompts/get, params.uri for resources/read, "" otherwise.
func (m *Message) Name() string {
	if m.name != "" {
		return m.name
	}
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
// when allowed, a batch, in one tokenizer pass. It never returns a
// partially valid result: any problem rejects the whole body.
func ParseBody(body []byte, opt ParseOptions) (msgs []Message, batch bool, perr *ProtocolError) {
	d, err := parseStrict(body, opt.MaxDepth)
	if err != nil {
		return nil, false, protoErr(400, CodeParseError, "", "parse error: "+err.Error())
	}
	if d.Nodes[0].Kind == jsondoc.Array {
		if !opt.AllowBatch {
			return nil, true, protoErr(400, CodeInvalidRequest, "",
				"invalid request: JSON-RPC batches are not allowed in this MCP protocol revision (only 2025-03-26 and earlier); send one message per POST")
		}
		n := d.Len(0)
		if n == 0 {
			return nil, true, protoErr(400, CodeInvalidRequest, "", "invalid request: empty JSON-RPC batch")
		}
		msgs = make([]Message, 0, n)
		for i, e := 0, d.FirstChild(0); e >= 0; i, e = i+1, d.Next(e) {
			m, perr := parseOne(d, e)
			if perr != nil {
				perr.Msg = "batch element " + strconv.Itoa(i) + ": " + perr.Msg
				return nil, true, perr
			}
			msgs = append(msgs, m)
		}
		return msgs, true, nil
	}
	m, perr := parseOne(d, 0)
	if perr != nil {
		return nil, false, perr
	}
	return []Message{m}, false, nil
}

// ParseMessage parses one JSON-RPC message (for example an SSE event's data).
func ParseMessage(b []byte, maxDepth int) (Message, *ProtocolError) {
	d, err := parseStrict(b, maxDepth)
	if err != nil {
		return Message{}, protoErr(400, CodeParseError, "", "parse error: "+err.Error())
	}
	return parseOne(d, 0)
}

// parseOne reads the envelope of the message at node n from its members,
// in one walk over them.
func parseOne(d *jsondoc.Doc, n int) (Message, *ProtocolError) {
	if d.Nodes[n].Kind != jsondoc.Object {
		return Message{}, protoErr(400, CodeInvalidRequest, "", "invalid request: a JSON-RPC message must be a JSON object")
	}
	m := Message{Raw: d.Raw(n), Doc: d, Node: n}
	var idv, ver, method, result, errv, params Value
	for j := d.FirstChild(n); j >= 0; j = d.Next(j) {
		switch d.Nodes[j].Key {
		case "id":
			idv = ValueOf(d, j)
		case "jsonrpc":
			ver = ValueOf(d, j)
		case "method":
			method = ValueOf(d, j)
		case "result":
			result = ValueOf(d, j)
		case "error":
			errv = ValueOf(d, j)
		case "params":
			params = ValueOf(d, j)
		}
	}
	if idv.Exists() {
		switch idv.Kind() {
		case jsondoc.String:
			m.ID = ID(idv.Raw())
		case jsondoc.Number:
			if !isInteger(idv.Raw()) {
				return m, protoErr(400, CodeInvalidRequest, "", "invalid request: id must be a string or an integer, got "+Truncate(string(idv.Raw()), 32))
			}
			m.ID = ID(idv.Raw())
		default:
			return m, protoErr(400, CodeInvalidRequest, "", "invalid request: id must be a string or an integer (null is not allowed in MCP)")
		}
	}
	if !ver.IsString() || string(ver.Raw()) != `"2.0"` && ver.Str() != "2.0" {
		if !ver.Exists() {
			return m, protoErr(400, CodeInvalidRequest, m.ID, `invalid request: missing "jsonrpc": "2.0"`)
		}
		return m, protoErr(400, CodeInvalidRequest, m.ID, `invalid request: unsupported JSON-RPC version `+Truncate(string(ver.Raw()), 32)+`; only "2.0" is accepted`)
	}
	switch {
	case method.Exists():
		if !method.IsString() || len(method.Raw()) == 2 {
			return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid request: method must be a non-empty string")
		}
		if result.Exists() || errv.Exists() {
			return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid request: a message cannot carry both method and result/error")
		}
		m.Method = methodName(method)
		m.Params = params
		m.name = m.Name()
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
		if !errv.IsObject() || errv.Get("code").Kind() != jsondoc.Number {
			return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid response: error must be an object with a numeric code")
		}
		m.Kind, m.Error = KindError, errv
	default:
		return m, protoErr(400, CodeInvalidRequest, m.ID, "invalid request: a JSON-RPC message needs a method (request/notification) or a result/error (response)")
	}
	return m, nil
}

// knownMethods interns the method names of the protocol, so reading the
// method of a message costs no allocation.
var knownMethods = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{"initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read",
		"resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list", "prompts/get",
		"completion/complete", "logging/setLevel", "sampling/createMessage", "elicitation/create", "roots/list",
		"notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/message",
		"notifications/tools/list_changed", "notifications/resources/list_changed", "notifications/resources/updated",
		"notifications/prompts/list_changed", "notifications/roots/list_changed", "subscriptions/listen"} {
		m[`"`+s+`"`] = s
	}
	return m
}()

func methodName(v Value) string {
	if s, ok := knownMethods[string(v.Raw())]; ok {
		return s
	}
	return v.Str()
}

func isInteger(raw []byte) bool {
	if len(raw) == 0 {
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
// It runs only on bodies refused before parsing (over the size limit, or
// refused on their headers), so it uses a reader that builds no node list:
// an oversized hostile body must not cost memory per value.
func PeekID(body []byte) ID {
	if !gjson.ValidBytes(body) {
		return ""
	}
	v := gjson.GetBytes(body, "id")
	switch v.Type {
	case gjson.String:
		return ID(v.Raw)
	case gjson.Number:
		if isInteger([]byte(v.Raw)) {
			return ID(v.Raw)
		}
	}
	return ""
}
