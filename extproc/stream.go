package extproc

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/tidwall/gjson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// pendingCall is a client request on this HTTP request awaiting its response.
type pendingCall struct {
	method string
	name   string
	// args are the tools/call arguments: values a result merely echoes
	// back are not new data for the behaviour engine.
	args []byte
}

// stream is the per-HTTP-request state machine.
type stream struct {
	ctx context.Context
	srv *Server
	rt  *Runtime

	req        reqHeaders
	mdServer   string // server named by gRPC metadata (sidecar mode)
	serverName string
	server     *config.Server
	rev        mcp.Revision
	httpMethod string

	pending map[mcp.ID]pendingCall
	calls   map[mcp.ID]*callState

	attrs map[string]*structpb.Struct
	agent policy.Identity
	pol   *policy.Policy
	beh   Behavior
	// lone is the id of the (last) request in the body, used to address
	// errors that concern the whole call, such as a malformed response.
	lone mcp.ID

	// deferred is a refusal decided on the request headers of a POST,
	// answered once the body shows the JSON-RPC id (errors keep the id).
	deferred *deferredRefusal

	resp     respHeaders
	status   int
	sse      bool
	parser   mcp.SSEParser
	finished bool // an ImmediateResponse was sent; Envoy sends nothing more

	// principal is the caller validated by identity.oauth (nil otherwise).
	principal *authz.Principal
	// stripConsent: a 2026-07-28 request to a user_delegated server that
	// has the user's grant; its answer to the gateway's consent request,
	// if any, is removed before the upstream (stripConsentAnswer).
	stripConsent bool
}

// handle dispatches one ProcessingRequest and returns its reply.
func (st *stream) handle(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, error) {
	switch r := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return st.requestHeaders(r.RequestHeaders), nil
	case *extprocv3.ProcessingRequest_RequestBody:
		return st.requestBody(r.RequestBody), nil
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return continueRequestTrailers, nil
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return st.responseHeaders(r.ResponseHeaders), nil
	case *extprocv3.ProcessingRequest_ResponseBody:
		return st.responseBody(r.ResponseBody)
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return continueRespTrailers, nil
	default:
		return nil, fmt.Errorf("unsupported ProcessingRequest type %T", req.Request)
	}
}

// refuse ends the request with a JSON-RPC error and the given HTTP status.
// A protocol refusal (one no decision has recorded: details names it in
// protocolRules) is recorded here, once.
func (st *stream) refuse(status int, id mcp.ID, code int, msg string, data *mcp.ErrorData, details string) *extprocv3.ProcessingResponse {
	return st.refuseAs(protocolRules[details], status, id, code, msg, data, details)
}

// refuseAs is refuse with the audit rule given ("" records nothing: the
// refusal was recorded by the decision that made it, or is not audited).
func (st *stream) refuseAs(rule string, status int, id mcp.ID, code int, msg string, data *mcp.ErrorData, details string) *extprocv3.ProcessingResponse {
	if rule != "" {
		st.recordRefusal(st.refusalPlane(), st.pendingMethod(), id, code, rule)
	}
	return st.refuseRaw(status, mcp.ErrorResponse(id, code, msg, data), details)
}

func (st *stream) requestHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	var hm map[string]string
	st.req, hm = parseRequestHeaders(h.GetHeaders())
	st.httpMethod = st.req.method
	if st.req.dupCritical != "" {
		return st.refuseHeaders(h, 400, mcp.CodeInvalidRequest,
			"invalid request: header "+st.req.dupCritical+" appears more than once", nil, "portcullis_duplicate_header")
	}
	if !st.rt.hostAllowed(st.req.authority) || !st.rt.originAllowed(st.req.origin) {
		// DNS-rebinding protection (MCP transport: invalid Origin → 403).
		return st.refuse(403, "", mcp.CodeInvalidRequest,
			"forbidden: host "+strconv.Quote(mcp.Truncate(st.req.authority, 64))+" or origin "+strconv.Quote(mcp.Truncate(st.req.origin, 64))+" is not allowed by listen.allowed_hosts", nil, "portcullis_host_not_allowed")
	}
	name, ok := serverFromPath(st.req.path)
	if st.mdServer != "" {
		name, ok = st.mdServer, true
	}
	if !ok {
		return st.refuse(404, "", mcp.CodeInvalidRequest,
			"no MCP endpoint at "+mcp.Truncate(pathOnly(st.req.path), 128)+": MCP servers are reached at /mcp/<server>", nil, "portcullis_no_route")
	}
	st.serverName = name
	st.server = st.rt.server(name)
	if st.server == nil {
		st.agent = anonymous
		id := policy.NewID()
		st.auditDecision(audit.PlaneRequest, audit.DecisionBlock, "", "", "", "servers.default-deny", "", id)
		return st.refuse(404, "", mcp.CodePolicyDenied,
			"unknown MCP server "+strconv.Quote(mcp.Truncate(name, 64))+": it is not on this gateway's allow-list",
			&mcp.ErrorData{DecisionID: id, Rule: "servers.default-deny", Server: mcp.Truncate(name, 64), Score: -1}, "portcullis_unknown_server")
	}
	// Revision: the header if present, else the spec's default. An unknown
	// revision is refused rather than guessed at.
	st.rev = mcp.DefaultRevision
	if v := st.req.protocolVersion; v != "" {
		st.rev = mcp.Revision(v)
		if !st.rev.Known() {
			return st.refuseHeaders(h, 400, mcp.CodeInvalidRequest,
				"unsupported MCP-Protocol-Version "+strconv.Quote(mcp.Truncate(v, 32))+"; supported: "+strings.Join(mcp.SupportedRevisions, ", "),
				&mcp.ErrorData{Score: -1, Supported: mcp.SupportedRevisions, Requested: mcp.Truncate(v, 32)}, detailsBadProtocolVersion)
		}
	}
	if st.req.route != "" {
		// Only the processor may select the sandbox route.
		return st.refuseHeaders(h, 400, mcp.CodeInvalidRequest, "invalid request: x-portcullis-route is reserved for the gateway", nil, "portcullis_reserved_header")
	}
	if resp := st.authenticate(h.GetHeaders(), hm); resp != nil {
		return resp
	}
	switch st.httpMethod {
	case "POST":
		if h.EndOfStream {
			return st.refuse(400, "", mcp.CodeInvalidRequest, "invalid request: empty body; POST a JSON-RPC message", nil, "portcullis_empty_body")
		}
		if mt := mediaType(st.req.contentType); mt != "application/json" {
			got := st.req.contentType
			if got == "" {
				got = "none"
			}
			return st.refuse(415, "", mcp.CodeInvalidRequest,
				"unsupported content type "+strconv.Quote(mcp.Truncate(got, 64))+": MCP POST bodies must be application/json", nil, "portcullis_bad_content_type")
		}
		if cl := st.req.contentLength; cl != "" {
			n, err := strconv.ParseInt(cl, 10, 64)
			if err != nil || n < 0 {
				return st.refuse(400, "", mcp.CodeInvalidRequest, "invalid content-length "+strconv.Quote(mcp.Truncate(cl, 32)), nil, "portcullis_bad_content_length")
			}
			if limit := st.rt.Config.Limits.MaxBodyBytes; n > limit {
				return st.refuse(413, "", mcp.CodeInvalidRequest,
					fmt.Sprintf("request body of %d bytes exceeds the gateway limit of %d bytes", n, limit), nil, "portcullis_body_too_large")
			}
		}
		return st.upstreamHeaders(hm)
	case "GET", "DELETE":
		// GET opens the server's SSE stream (inspected as it streams);
		// DELETE ends a session. Both carry no JSON-RPC body: one that
		// does is refused here, because a route may not send the body to
		// the processor at all (issue 11 #17).
		if !h.EndOfStream {
			return st.refuse(400, "", mcp.CodeInvalidRequest, "invalid request: "+st.httpMethod+" requests must not carry a body", nil, "portcullis_unexpected_body")
		}
		return st.upstreamHeaders(hm)
	default:
		return st.refuse(405, "", mcp.CodeInvalidRequest,
			"method "+strconv.Quote(mcp.Truncate(st.httpMethod, 16))+" not allowed: MCP uses POST, GET and DELETE", nil, "portcullis_bad_method")
	}
}

func (st *stream) requestBody(b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if st.httpMethod != "POST" {
		// A GET or DELETE with a body: nothing MCP reads, refuse rather than
		// forward bytes nobody inspected.
		return st.refuse(400, "", mcp.CodeInvalidRequest, "invalid request: "+st.httpMethod+" requests must not carry a body", nil, "portcullis_unexpected_body")
	}
	body := b.GetBody()
	if d := st.deferred; d != nil {
		if d.body != nil {
			return st.refuseRaw(d.status, d.body(body), d.details)
		}
		code := d.code
		if d.details == detailsBadProtocolVersion {
			code = mcp.UnsupportedVersionCode(body)
		}
		return st.refuse(d.status, mcp.PeekID(body), code, d.msg, d.data, d.details)
	}
	limits := &st.rt.Config.Limits
	if int64(len(body)) > limits.MaxBodyBytes {
		return st.refuse(413, mcp.PeekID(body), mcp.CodeInvalidRequest,
			fmt.Sprintf("request body of %d bytes exceeds the gateway limit of %d bytes", len(body), limits.MaxBodyBytes), nil, "portcullis_body_too_large")
	}
	msgs, batch, perr := mcp.ParseBody(body, mcp.ParseOptions{MaxDepth: limits.MaxDepth, AllowBatch: st.rev.AllowsBatch()})
	if perr != nil {
		return st.refuseAs(parseRule(perr), perr.HTTPStatus, perr.ID, perr.Code, perr.Msg, nil, "portcullis_invalid_jsonrpc")
	}
	if batch && st.req.mcpMethod != "" {
		return st.refuse(400, "", mcp.CodeHeaderMismatch, "header mismatch: Mcp-Method cannot describe a batch", nil, "portcullis_header_mismatch")
	}
	if r := st.checkToolScopes(msgs); r != nil {
		return r
	}
	rh := mcp.RoutingHeaders{Method: st.req.mcpMethod, Name: st.req.mcpName, Version: st.req.protocolVersion}
	// Pass 1: protocol rules and the trust plane for every message, so a
	// batch refused here never reaches detection, policy or behaviour state.
	var refusals [][]byte
	for i := range msgs {
		m := &msgs[i]
		if !batch {
			if perr := mcp.CheckRoutingHeaders(st.rev, rh, m); perr != nil {
				return st.refuse(perr.HTTPStatus, perr.ID, perr.Code, perr.Msg, nil, "portcullis_header_mismatch")
			}
		}
		if m.Kind == mcp.KindRequest {
			if st.pending == nil {
				st.pending = make(map[mcp.ID]pendingCall, len(msgs))
			}
			if _, dup := st.pending[m.ID]; dup {
				return st.refuse(400, m.ID, mcp.CodeInvalidRequest, "invalid request: duplicate id "+mcp.Truncate(string(m.ID), 64)+" in one batch", nil, "portcullis_duplicate_id")
			}
			pc := pendingCall{method: m.Method, name: auditName(m)}
			if m.Method == "tools/call" && st.beh != nil {
				pc.args = rawBytes(m.Params.Get("arguments"))
			}
			st.pending[m.ID] = pc
			st.lone = m.ID
		}
		if r := st.trustCheck(m); r != nil {
			refusals = append(refusals, r)
		}
	}
	if len(refusals) > 0 {
		status := 200
		if !batch && msgs[0].Kind == mcp.KindNotification {
			status = 400
		}
		return st.refuseMessages(msgs, batch, refusals, status)
	}
	// Pass 2: detection, policy and behaviour for every content-bearing
	// message. Outcomes are recorded only once the whole body is decided.
	outs := make([][]byte, len(msgs))
	changed, sandbox, refuseStatus := false, false, 200
	decided := make([]requestOutcome, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		outs[i] = m.Raw
		v := st.decideRequest(m)
		if v.o == nil {
			continue
		}
		decided = append(decided, v)
		if v.refusal != nil {
			refusals = append(refusals, v.refusal)
			if v.status != 0 {
				refuseStatus = v.status
			}
			continue
		}
		sandbox = sandbox || v.sandbox
		if v.out != nil {
			outs[i], changed = v.out, true
		}
	}
	// A batch goes upstream whole or not at all: calls allowed in a
	// refused batch are final as blocked before anything is recorded.
	var auditErr error
	for _, v := range decided {
		if len(refusals) > 0 && v.refusal == nil {
			v.o.refused(mcp.CodePolicyDenied, "batch-refused")
		}
		if err := st.record(v.o); err != nil && auditErr == nil {
			auditErr = err
		}
	}
	if auditErr != nil && len(refusals) == 0 {
		refusals = append(refusals, mcp.ErrorResponse(st.lone, mcp.CodeInternalError, "the audit log cannot accept records; the gateway refuses calls it cannot record", nil))
		refuseStatus = 503
	}
	if len(refusals) > 0 {
		for _, v := range decided {
			st.endCall(mcp.ID(v.o.rawID()), cmpStr(v.o.ErrorType, strconv.Itoa(mcp.CodeInternalError)))
		}
		return st.refuseMessages(msgs, batch, refusals, refuseStatus)
	}
	if st.stripConsent {
		for i := range outs {
			if out := stripConsentAnswer(outs[i]); out != nil {
				outs[i], changed = out, true
			}
		}
	}
	if !changed && !sandbox {
		return continueRequestBody
	}
	var resp *extprocv3.ProcessingResponse
	if changed {
		var extra []*corev3.HeaderValueOption
		if sandbox {
			extra = append(extra, header(routeHeader, "sandbox"))
		}
		resp = replaceRequestBody(joinMessages(outs, batch), extra...)
	} else {
		resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
			Response: &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{header(routeHeader, "sandbox")}}},
		}}}
	}
	if sandbox {
		// Re-select the route so the request goes to the sandbox upstream.
		resp.GetRequestBody().Response.ClearRouteCache = true
	}
	return resp
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// routeHeader selects the sandbox route (Envoy route match / embedded data plane).
const routeHeader = "x-portcullis-route"

func joinMessages(outs [][]byte, batch bool) []byte {
	if !batch {
		return outs[0]
	}
	nb := []byte{'['}
	for i, r := range outs {
		if i > 0 {
			nb = append(nb, ',')
		}
		nb = append(nb, r...)
	}
	return append(nb, ']')
}

// trustCheck applies the protocol and trust-plane rules that need no
// inspection: request methods sent as notifications, the server's tool
// allow/deny list and tools withheld as poisoned. It returns the JSON-RPC
// error of a refused message (audited here), or nil.
func (st *stream) trustCheck(m *mcp.Message) []byte {
	if m.Kind == mcp.KindNotification && !strings.HasPrefix(m.Method, "notifications/") {
		// A request without an id would skip every check that answers a
		// request (issue 11 #11).
		o := st.newOutcome(audit.PlaneRequest, m.Method, "", auditName(m))
		o.refused(mcp.CodeInvalidRequest, "protocol:request-without-id")
		id := policy.NewID()
		o.DecisionID = id
		_ = st.record(o)
		return mcp.ErrorResponse("", mcp.CodeInvalidRequest,
			"invalid request: "+strconv.Quote(mcp.Truncate(m.Method, 64))+" is a request method and needs an id; the gateway does not forward it as a notification",
			&mcp.ErrorData{DecisionID: id, Rule: "protocol:request-without-id", Server: st.server.Name, Score: -1})
	}
	if m.Kind != mcp.KindRequest || m.Method != "tools/call" {
		return nil
	}
	nv := m.Params.Get("name")
	if !nv.IsString() || len(nv.Raw()) == 2 {
		st.recordRefusal(audit.PlaneRequest, m.Method, m.ID, mcp.CodeInvalidParams, "protocol:invalid-params")
		return mcp.ErrorResponse(m.ID, mcp.CodeInvalidParams, "invalid params: tools/call needs params.name (a non-empty string)", nil)
	}
	if args := m.Params.Get("arguments"); args.Exists() && !args.IsObject() {
		st.recordRefusal(audit.PlaneRequest, m.Method, m.ID, mcp.CodeInvalidParams, "protocol:invalid-params")
		return mcp.ErrorResponse(m.ID, mcp.CodeInvalidParams, "invalid params: tools/call arguments must be an object", nil)
	}
	name := m.Name() // params.name, decoded once at parse
	allowed, rule := st.server.ToolDecision(name)
	var msg string
	if allowed {
		why, bad := st.srv.withheld.reason(st.server.Name, name)
		if !bad {
			return nil
		}
		rule = "builtin:tool-poisoning"
		if strings.HasPrefix(why, "changed since pinned") {
			rule = "pinning:changed-tool"
		}
		msg = "tool " + strconv.Quote(mcp.Truncate(name, 128)) + " on server " + strconv.Quote(st.server.Name) + " was withheld from tools/list (" + mcp.Truncate(why, 120) + ") and cannot be called"
	} else {
		msg = "tool " + strconv.Quote(mcp.Truncate(name, 128)) + " on server " + strconv.Quote(st.server.Name) + " is not allowed by the gateway"
	}
	id := policy.NewID()
	st.auditDecision(audit.PlaneRequest, audit.DecisionBlock, m.Method, m.ID, name, rule, "", id)
	return mcp.ErrorResponse(m.ID, mcp.CodePolicyDenied, msg,
		&mcp.ErrorData{DecisionID: id, Rule: rule, Server: st.server.Name, Tool: mcp.Truncate(name, 128), Score: -1})
}

// refuseMessages answers the whole body locally: the upstream sees nothing.
// In a batch, refused requests get their own errors and the others are
// refused too, because forwarding part of a batch would reorder effects the
// client expects to be atomic.
func (st *stream) refuseMessages(msgs []mcp.Message, batch bool, refusals [][]byte, status int) *extprocv3.ProcessingResponse {
	if !batch {
		return st.refuseRaw(status, refusals[0], "portcullis_policy_denied")
	}
	out := []byte{'['}
	for _, r := range refusals {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, r...)
	}
	refused := map[mcp.ID]bool{}
	for _, r := range refusals {
		refused[mcp.ID(gjson.GetBytes(r, "id").Raw)] = true
	}
	for i := range msgs {
		if msgs[i].Kind == mcp.KindRequest && !refused[msgs[i].ID] {
			out = append(out, ',')
			out = mcp.AppendErrorResponse(out, msgs[i].ID, mcp.CodePolicyDenied, "batch refused: another request in the same batch was blocked", nil)
		}
	}
	out = append(out, ']')
	return st.refuseRaw(status, out, "portcullis_policy_denied")
}

func (st *stream) refuseRaw(status int, body []byte, details string) *extprocv3.ProcessingResponse {
	st.finished = true
	return immediate(status, body, details)
}

func (st *stream) responseHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	st.resp = parseResponseHeaders(h.GetHeaders())
	st.status, _ = strconv.Atoi(st.resp.status)
	if r := st.upstreamRefused(h.GetHeaders()); r != nil {
		return r
	}
	if h.EndOfStream {
		return continueResponseHeaders
	}
	if !identityEncoding(st.resp.contentEncoding) {
		// Compressed bytes cannot be inspected; clients would decompress
		// them and hand the model content nobody checked (issue 11 #1).
		st.endCalls(strconv.Itoa(mcp.CodeInternalError))
		return st.refuse(502, st.lone, mcp.CodeInternalError,
			"upstream server answered with content-encoding "+strconv.Quote(mcp.Truncate(st.resp.contentEncoding, 32))+", which the gateway cannot inspect; the response was refused", nil, "portcullis_encoded_response")
	}
	if mediaType(st.resp.contentType) == "text/event-stream" {
		st.sse = true
		st.parser.MaxEvent = st.rt.Config.Limits.MaxSSEEventBytes
		return sseOverride
	}
	return continueResponseHeaders
}

// pendingMethod names the method of a lone pending request ("" otherwise).
func (st *stream) pendingMethod() string {
	if c, ok := st.pending[st.lone]; ok && len(st.pending) == 1 {
		return c.method
	}
	return ""
}

func (st *stream) responseBody(b *extprocv3.HttpBody) (*extprocv3.ProcessingResponse, error) {
	if st.sse {
		return st.sseChunk(b)
	}
	body := b.GetBody()
	if len(body) == 0 {
		return continueResponseBody, nil
	}
	ok2xx := st.status >= 200 && st.status <= 299
	if mediaType(st.resp.contentType) == "application/json" {
		return st.bufferedJSON(body, !ok2xx), nil
	}
	if !ok2xx {
		// Error statuses (404 session expired, 400, 5xx) may carry text a
		// client shows the model: inspected too (issue 11 #5).
		return st.errorBody(body), nil
	}
	st.recordRefusal(audit.PlaneResult, st.pendingMethod(), st.lone, mcp.CodeInternalError, "protocol:bad-content-type")
	st.endCalls(strconv.Itoa(mcp.CodeInternalError))
	return replaceResponseBody(mcp.ErrorResponse(st.lone, mcp.CodeInternalError,
		"upstream server answered with unsupported content type "+strconv.Quote(mcp.Truncate(st.resp.contentType, 64))+"; the gateway only passes application/json and text/event-stream", nil), true), nil
}

// errorBody inspects a non-JSON-RPC body of an error status as text and
// replaces it with a JSON-RPC error when anything is found or it cannot be
// inspected.
func (st *stream) errorBody(body []byte) *extprocv3.ProcessingResponse {
	det := st.srv.eng.Detector
	if det == nil {
		return continueResponseBody
	}
	findings, err := det.Scan(mcp.AppendJSONString(nil, string(body)))
	if err == nil && len(findings) == 0 {
		return continueResponseBody
	}
	st.countFindings(findings)
	o := st.newOutcome(audit.PlaneResult, cmpStr(st.pendingMethod(), "http-error"), st.lone, "")
	o.Findings = findings
	o.refused(mcp.CodeInternalError, "inspect:error-body")
	_ = st.record(o)
	st.endCalls(strconv.Itoa(mcp.CodeInternalError))
	resp := replaceResponseBody(mcp.ErrorResponse(st.lone, mcp.CodeInternalError,
		"upstream server answered with HTTP "+strconv.Itoa(st.status)+" and a body the gateway withheld (it carried content flagged by inspection or could not be inspected)", nil), true)
	resp.GetResponseBody().Response.HeaderMutation.SetHeaders = append(resp.GetResponseBody().Response.HeaderMutation.SetHeaders, header("content-type", "application/json"))
	return resp
}

// endCalls ends the spans of every call on this stream (a whole response
// was refused).
func (st *stream) endCalls(errType string) {
	for id := range st.calls {
		st.endCall(id, errType)
	}
}

// bufferedJSON inspects a complete application/json response. Unsolicited
// messages are refused unless the status is an error (then the body
// answers the request even without a matching id).
func (st *stream) bufferedJSON(body []byte, errorStatus bool) *extprocv3.ProcessingResponse {
	limits := &st.rt.Config.Limits
	msgs, batch, perr := mcp.ParseBody(body, mcp.ParseOptions{MaxDepth: limits.MaxDepth, AllowBatch: true})
	if perr != nil && errorStatus {
		return st.errorBody(body) // not JSON-RPC: inspected as text
	}
	if perr != nil {
		st.recordRefusal(audit.PlaneResult, st.pendingMethod(), st.lone, mcp.CodeInternalError, parseRule(perr))
		st.endCalls(strconv.Itoa(mcp.CodeInternalError))
		return replaceResponseBody(mcp.ErrorResponse(st.lone, mcp.CodeInternalError,
			"upstream server returned an invalid JSON-RPC response ("+perr.Msg+"); the gateway refused to pass it on", nil), true)
	}
	changed := false
	out := make([][]byte, 0, len(msgs))
	for i := range msgs {
		raw, keep := st.inspectResult(&msgs[i], errorStatus || st.httpMethod != "POST")
		if !keep {
			st.recordRefusal(audit.PlaneResult, "", msgs[i].ID, mcp.CodeInternalError, "protocol:unsolicited-response")
			raw = mcp.ErrorResponse(msgs[i].ID, mcp.CodeInternalError, "upstream response does not match any request on this call; refused by the gateway", nil)
		}
		if raw == nil {
			changed = true // withheld (server request or notification)
			continue
		}
		if !keep || len(raw) != len(msgs[i].Raw) || &raw[0] != &msgs[i].Raw[0] {
			changed = true
		}
		out = append(out, raw)
	}
	if !changed {
		return continueResponseBody
	}
	if len(out) == 0 {
		return replaceResponseBody(nil, true)
	}
	if !batch {
		return replaceResponseBody(out[0], true)
	}
	nb := []byte{'['}
	for i, r := range out {
		if i > 0 {
			nb = append(nb, ',')
		}
		nb = append(nb, r...)
	}
	return replaceResponseBody(append(nb, ']'), true)
}

// inspectResult applies result-plane rules to one server→client message and
// returns the bytes to forward (nil: withheld). keep is false when a
// response answers nothing this call sent; unsolicited is true where a
// response may legitimately answer no request of this stream (GET streams
// and their replays, error statuses).
func (st *stream) inspectResult(m *mcp.Message, unsolicited bool) (raw []byte, keep bool) {
	var call pendingCall
	switch m.Kind {
	case mcp.KindResult, mcp.KindError:
		c, ok := st.pending[m.ID]
		if ok {
			delete(st.pending, m.ID)
		} else if !unsolicited {
			// A response to nothing we forwarded: refuse rather than pass
			// content we cannot attribute.
			return nil, false
		}
		call = c
		if m.Kind == mcp.KindResult && (call.method == "tools/list" || (!ok && m.Result.Get("tools").Exists())) {
			// Tool definitions are inspected by the poisoning scan and
			// filtered by the trust plane and the policy.
			return st.filterToolsList(m), true
		}
	}
	return st.decideResponse(m, call), true
}

// filterToolsList removes tools the server's allow/deny list does not permit,
// so the host never sees them.
func (st *stream) filterToolsList(m *mcp.Message) []byte {
	tools := m.Result.Get("tools")
	if !tools.IsArray() {
		// Unfilterable: never pass it unfiltered (issue 11 #6).
		st.recordRefusal(audit.PlaneResult, "tools/list", m.ID, mcp.CodeInternalError, "malformed:tools-not-array")
		return mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "upstream tools/list result has no tools array; the gateway withheld it", nil)
	}
	var poisoned map[string]string
	if d := st.srv.eng.Detector; d != nil {
		var err error
		if poisoned, err = d.ScanTools(m.Result.Raw()); err != nil {
			st.recordRefusal(audit.PlaneResult, "tools/list", m.ID, mcp.CodeInternalError, "inspect:failed")
			return mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the gateway could not inspect this tools/list result and withheld it", nil)
		}
		for name := range poisoned {
			st.auditDecision(audit.PlaneResult, audit.DecisionBlock, "tools/list", m.ID, name, "builtin:tool-poisoning", "poison:tool_description", "")
			if t := st.srv.eng.Telemetry; t != nil {
				t.DetectorHits("tool_poisoning", 1)
			}
		}
	}
	if st.beh != nil {
		var defs []behavior.ToolDef
		tools.ForEach(func(_ string, t mcp.Value) bool {
			if n := t.Get("name"); n.IsString() {
				defs = append(defs, behavior.ToolDef{Name: n.Str(), Raw: t.Raw()})
			}
			return true
		})
		rep := st.beh.PinTools(st.ctx, st.server.Name, defs)
		for name, diff := range rep.Changed {
			if poisoned == nil {
				poisoned = map[string]string{}
			}
			poisoned[name] = "changed since pinned: " + diff
			st.auditDecision(audit.PlaneResult, audit.DecisionBlock, "tools/list", m.ID, name, "pinning:changed-tool", "behavior:changed_tool_definition", "")
		}
		for name := range rep.Shadowed {
			// Shadowing is flagged, not withheld: two servers may legitimately
			// share a tool name.
			st.auditDecision(audit.PlaneResult, audit.DecisionAllow, "tools/list", m.ID, name, "pinning:shadowed-tool", "behavior:tool_shadowing", "")
		}
	}
	kept := make([]byte, 0, len(tools.Raw()))
	kept = append(kept, '[')
	dropped := 0
	tools.ForEach(func(_ string, t mcp.Value) bool {
		if nv := t.Get("name"); nv.IsString() {
			name := nv.Str()
			st.rememberAnnotations(name, t.Get("annotations"))
			why, bad := poisoned[name]
			st.srv.withheld.set(st.server.Name, name, why, bad)
			visible := st.pol == nil || st.pol.ToolVisible(st.agent, st.server.Name, name)
			if ok, _ := st.server.ToolDecision(name); ok && visible && !bad {
				if len(kept) > 1 {
					kept = append(kept, ',')
				}
				kept = append(kept, t.Raw()...)
				return true
			}
		}
		dropped++
		return true
	})
	if dropped == 0 {
		return m.Raw
	}
	kept = append(kept, ']')
	out := spliceJSON(m.Raw, "result.tools", kept)
	if len(out) == 0 {
		// Never fall back to the unfiltered list.
		st.recordRefusal(audit.PlaneResult, "tools/list", m.ID, mcp.CodeInternalError, "inspect:rewrite-failed")
		return mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the gateway could not filter this tools/list result", nil)
	}
	return out
}

func (st *stream) sseChunk(b *extprocv3.HttpBody) (*extprocv3.ProcessingResponse, error) {
	chunk := b.GetBody()
	events, err := st.parser.Feed(chunk)
	if err != nil {
		// An event too large to inspect: the stream cannot continue safely.
		st.recordRefusal(audit.PlaneResult, st.pendingMethod(), st.lone, mcp.CodeInternalError, "protocol:sse-event-too-large")
		return nil, fmt.Errorf("sse: %w", err)
	}
	// Most chunks pass unchanged: collect what to forward and join only
	// when something changed.
	var fwdBuf [4][]byte // a chunk rarely completes more events
	fwds := fwdBuf[:0]
	unchanged, total := true, 0
	for i := range events {
		ev := &events[i]
		fwd, same := st.sseEvent(ev)
		if !same {
			unchanged = false
		}
		fwds = append(fwds, fwd)
		total += len(fwd)
	}
	held := len(st.parser.Pending()) > 0
	if b.GetEndOfStream() && held {
		// An unterminated final event is never dispatched by SSE clients;
		// dropping it keeps uninspected bytes away from the host.
		held = false
		unchanged = false
	}
	if unchanged && !held && total == len(chunk) {
		return continueResponseBody, nil
	}
	if total == 0 {
		return holdResponseChunk, nil // nothing to forward yet
	}
	if len(fwds) == 1 {
		// One event (typically completed by this chunk): forward its bytes
		// as they are; the parser never writes over bytes it returned.
		return replaceResponseBody(fwds[0], false), nil
	}
	out := make([]byte, 0, total)
	for _, f := range fwds {
		out = append(out, f...)
	}
	return replaceResponseBody(out, false), nil
}

// sseEvent inspects one event and returns the bytes to forward.
func (st *stream) sseEvent(ev *mcp.SSEEvent) ([]byte, bool) {
	if !ev.HasData || len(bytes.TrimSpace(ev.Data)) == 0 {
		return ev.Raw, true // comments, priming events (id + empty data), retry hints
	}
	m, perr := mcp.ParseMessage(ev.Data, st.rt.Config.Limits.MaxDepth)
	if perr != nil {
		st.recordRefusal(audit.PlaneResult, st.pendingMethod(), st.lone, mcp.CodeInternalError, parseRule(perr))
		if id := st.lone; id.Valid() && len(st.pending) == 1 {
			delete(st.pending, id)
			return mcp.AppendEvent(nil, ev, mcp.ErrorResponse(id, mcp.CodeInternalError,
				"upstream server sent an invalid JSON-RPC message ("+perr.Msg+"); the gateway refused to pass it on", nil)), false
		}
		return nil, false
	}
	raw, keep := st.inspectResult(&m, st.httpMethod == "GET")
	if !keep || raw == nil {
		return nil, false
	}
	if len(raw) == len(m.Raw) && (len(raw) == 0 || &raw[0] == &m.Raw[0]) {
		return ev.Raw, true
	}
	return mcp.AppendEvent(nil, ev, raw), false
}

// serverFromPath extracts <name> from /mcp/<name>[/...][?query].
func serverFromPath(p string) (string, bool) {
	p = pathOnly(p)
	const prefix = "/mcp/"
	if !strings.HasPrefix(p, prefix) {
		return "", false
	}
	rest := p[len(prefix):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" {
		return "", false
	}
	return rest, true
}

func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}
