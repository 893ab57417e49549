package extproc

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/policy"
)

// Authz is the OAuth resource server and the upstream credential broker.
type Authz struct {
	// RS validates callers' tokens (identity.oauth); nil: not configured,
	// and the identity resolver (if any) decides.
	RS *authz.ResourceServer
	// Broker obtains servers[].upstream_auth credentials; nil: a server
	// that needs one is refused.
	Broker *authz.Broker
	// Stop releases the resource server's background work when a reload
	// replaces it (may be nil).
	Stop func()
	// Delegation holds the users' upstream grants for user_delegated
	// servers (identity.upstream_oauth); nil: such a server is refused.
	Delegation *authz.Delegation
}

// WithAuthz sets the OAuth resource server and the credential broker.
func WithAuthz(a Authz) Option { return func(s *Server) { s.az.Store(&a) } }

// SetAuthz swaps the OAuth resource server and broker (configuration
// reload) and stops the previous one. Streams running keep what they read.
func (s *Server) SetAuthz(a Authz) {
	if old := s.az.Swap(&a); old != nil && old.Stop != nil && old.RS != a.RS {
		old.Stop()
	}
}

// Authz returns the current resource server and broker (zero value: none).
func (s *Server) Authz() Authz {
	if a := s.az.Load(); a != nil {
		return *a
	}
	return Authz{}
}

// SourceOAuth is the identity source of a caller validated by identity.oauth.
const SourceOAuth = "oauth"

// authenticate establishes the caller at request-header time: through the
// OAuth resource server when configured (every route then needs a token),
// otherwise through the identity resolver. It returns the refusal, or nil.
func (st *stream) authenticate(h *corev3.HeaderMap, hm map[string]string) *extprocv3.ProcessingResponse {
	rs := st.srv.Authz().RS
	if rs == nil {
		if err := st.resolveIdentity(hm); err != nil {
			msg := strings.TrimPrefix(err.Error(), "unauthenticated: ")
			return st.challenge(401, "unauthenticated: "+msg, authz.Challenge{Error: "invalid_token", ErrorDescription: msg}.String())
		}
		return nil
	}
	st.agent = anonymous
	if st.pol != nil {
		st.agent = st.pol.AnonymousIdentity() // a transparent route's caller without a token
	}
	var nAuth, nDPoP int
	for _, x := range h.GetHeaders() {
		switch x.Key {
		case "authorization":
			nAuth++
		case "dpop":
			nDPoP++
		}
	}
	if nAuth > 1 {
		return st.refuse(400, "", mcp.CodeInvalidRequest, "invalid request: header authorization appears more than once", nil, "portcullis_duplicate_header")
	}
	req := authz.Request{Server: st.serverName, Method: st.httpMethod, Path: st.req.path,
		Authorization: hm["authorization"], DPoP: hm["dpop"], DPoPCount: nDPoP}
	if st.server != nil {
		req.Scopes = st.server.Scopes
		if req.Scopes == nil {
			req.Scopes = []string{}
		}
	}
	var p *authz.Principal
	var err error
	if st.server != nil && st.server.Transparent() {
		// The upstream stays the resource server: a caller without a token
		// goes on and gets the upstream's challenge, rewritten.
		p, err = rs.AuthenticateTransparent(st.ctx, req, st.server.URL)
	} else {
		p, err = rs.Authenticate(st.ctx, req)
	}
	if err != nil {
		status, what := 401, "unauthenticated: "
		var e *authz.Error
		if errors.As(err, &e) && e.Status == 403 {
			status, what = 403, "forbidden: "
		}
		if req.Authorization != "" {
			// A presented credential was refused: a security event worth a
			// record (a bare 401 without a token is discovery, not audited).
			st.auditAuthRefusal(err)
		}
		return st.challenge(status, what+mcp.Truncate(err.Error(), 300), rs.Challenge(st.serverName, err).String())
	}
	if p == nil {
		return nil
	}
	st.principal = p
	st.agent = policy.Identity{ID: p.Subject, ClientID: p.ClientID, Actor: p.Actor, Groups: p.Groups, Roles: p.Roles, Trust: p.Trust, Source: SourceOAuth}
	return nil
}

// challenge ends the request with status, a JSON-RPC error and a
// WWW-Authenticate header.
func (st *stream) challenge(status int, msg, wwwAuthenticate string) *extprocv3.ProcessingResponse {
	st.finished = true
	details := "portcullis_unauthenticated"
	if status == 403 {
		details = "portcullis_insufficient_scope"
	}
	resp := immediate(status, mcp.ErrorResponse(st.lone, mcp.CodeInvalidRequest, msg, nil), details)
	hm := resp.GetImmediateResponse().Headers
	hm.SetHeaders = append(hm.SetHeaders, header("www-authenticate", wwwAuthenticate))
	return resp
}

// checkToolScopes refuses (403 insufficient_scope, step-up) a body whose
// tools/call names a tool the caller lacks servers[].tool_scopes for.
func (st *stream) checkToolScopes(msgs []mcp.Message) *extprocv3.ProcessingResponse {
	if st.server == nil || len(st.server.ToolScopes) == 0 {
		return nil
	}
	rs := st.srv.Authz().RS
	if rs == nil {
		return nil
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Kind != mcp.KindRequest || m.Method != "tools/call" {
			continue
		}
		tool := m.Params.Get("name").Str()
		need := toolScopes(st.server.ToolScopes, tool)
		if len(need) == 0 {
			continue
		}
		if err := rs.CheckTool(st.principal, st.serverName, tool, need); err != nil {
			st.lone = m.ID
			st.auditAuthRefusalCall(err, "tools/call", m.ID, tool)
			return st.challenge(403, "forbidden: "+mcp.Truncate(err.Error(), 300)+"; obtain a token with these scopes and retry", rs.Challenge(st.serverName, err).String())
		}
	}
	return nil
}

// upstreamHeaders is the request-header reply for a request that goes on,
// carrying credentialMutation.
func (st *stream) upstreamHeaders(hm map[string]string) *extprocv3.ProcessingResponse {
	mut, refusal := st.credentialMutation(hm)
	if refusal != nil {
		return refusal
	}
	if mut == nil {
		return st.forwardRequestHeaders()
	}
	// accept-encoding: identity rides on every forwarded request so the
	// upstream never compresses a body past inspection.
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
		Response: &extprocv3.CommonResponse{HeaderMutation: acceptIdentity(mut)},
	}}}
}

// credentialMutation removes the caller's credentials (Authorization,
// DPoP, Proxy-Authorization and the identity.jwt header) so a token meant
// for the gateway never reaches an upstream, and sets the server's own
// credential. It returns nil when nothing changes, or the refusal when the
// credential cannot be obtained. A server may opt in to receiving the
// caller's token (servers[].upstream_auth.forward_client_token, logged as a
// risk at start-up; transparent routes forward it by design).
func (st *stream) credentialMutation(hm map[string]string) (*extprocv3.HeaderMutation, *extprocv3.ProcessingResponse) {
	s := st.server
	if s.Forwards() {
		return nil, nil
	}
	var remove []string
	for _, k := range [...]string{"authorization", "dpop", "proxy-authorization"} {
		if _, ok := hm[k]; ok {
			remove = append(remove, k)
		}
	}
	if j := st.rt.Config.Identity.JWT; j != nil && j.Header != "" && !strings.EqualFold(j.Header, "authorization") {
		if _, ok := hm[strings.ToLower(j.Header)]; ok {
			remove = append(remove, strings.ToLower(j.Header))
		}
	}
	cfg := s.Upstream()
	var set []*corev3.HeaderValueOption
	if cfg.Kind == authz.UpstreamDelegated {
		cred, refusal := st.delegatedCredential(cfg)
		if refusal != nil {
			return nil, refusal
		}
		set = append(set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: cred.Header, RawValue: []byte(cred.Value)},
			Append: wrapperspb.Bool(false), AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD})
		if _, sent := hm[cred.Header]; sent && cred.Header != "authorization" {
			remove = append(remove, cred.Header)
		}
	} else if cfg.Kind != "" && cfg.Kind != authz.UpstreamNone {
		b := st.srv.Authz().Broker
		if b == nil {
			return nil, st.refuse(502, "", mcp.CodeInternalError, "upstream "+strconv.Quote(s.Name)+" needs a credential but this processor has no credential broker", nil, "portcullis_upstream_credential")
		}
		cred, ok, err := b.Credential(st.ctx, s.Name, cfg, st.principal)
		if err != nil {
			st.srv.logger.Warn("upstream credential unavailable", "server", s.Name, "type", cfg.Kind, "error", err)
			return nil, st.refuse(502, "", mcp.CodeInternalError, "the gateway could not obtain its credential for upstream "+strconv.Quote(s.Name)+": "+mcp.Truncate(err.Error(), 200), nil, "portcullis_upstream_credential")
		}
		if ok {
			// A client-sent header of the same name must not survive next to ours.
			if _, sent := hm[cred.Header]; sent && cred.Header != "authorization" {
				remove = append(remove, cred.Header)
			}
			set = append(set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: cred.Header, RawValue: []byte(cred.Value)},
				Append: wrapperspb.Bool(false), AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD})
		}
	}
	if len(remove) == 0 && len(set) == 0 {
		return nil, nil
	}
	return &extprocv3.HeaderMutation{RemoveHeaders: remove, SetHeaders: set}, nil
}

// delegatedCredential is the caller's own upstream token for a
// user_delegated server, or the refusal: a consent request (-32042 URL
// elicitation naming the gateway's consent page) when the caller has not
// granted access yet, 502 when the token cannot be obtained.
func (st *stream) delegatedCredential(cfg authz.UpstreamConfig) (authz.Credential, *extprocv3.ProcessingResponse) {
	s := st.server
	d := st.srv.Authz().Delegation
	if d == nil {
		return authz.Credential{}, st.refuse(502, "", mcp.CodeInternalError, "upstream "+strconv.Quote(s.Name)+" uses user-delegated OAuth but identity.upstream_oauth is not configured", nil, "portcullis_upstream_credential")
	}
	if st.agent.ID == "" || st.agent.Source == "" || st.agent.Source == policy.SourceAnonymous {
		// One grant per person: an unidentified caller would share one.
		return authz.Credential{}, st.refuse(401, "", mcp.CodeInvalidRequest, "unauthenticated: upstream "+strconv.Quote(s.Name)+" acts on behalf of each user; authenticate to the gateway first", nil, "portcullis_unauthenticated")
	}
	tok, err := d.Token(st.ctx, s.Name, cfg, st.agent.ID)
	var ce *authz.ConsentRequiredError
	if errors.As(err, &ce) {
		if st.httpMethod == "POST" {
			// Answered once the body shows the request's id (and, for
			// 2026-07-28, its method and the client's capabilities).
			rev := st.rev
			st.deferred = &deferredRefusal{status: 200, details: "portcullis_consent_required", body: func(raw []byte) []byte { return consentReply(raw, rev, ce) }}
			return authz.Credential{}, continueRequestHeaders
		}
		return authz.Credential{}, st.refuseRaw(403, consentError("", ce), "portcullis_consent_required")
	}
	if err != nil {
		st.srv.logger.Warn("upstream credential unavailable", "server", s.Name, "type", cfg.Kind, "error", err)
		return authz.Credential{}, st.refuse(502, "", mcp.CodeInternalError, "the gateway could not obtain the user's credential for upstream "+strconv.Quote(s.Name)+": "+mcp.Truncate(err.Error(), 200), nil, "portcullis_upstream_credential")
	}
	header := strings.ToLower(cfg.Header)
	if header == "" {
		header = "authorization"
	}
	// A 2026-07-28 retry after consent carries the client's answer to the
	// gateway's input request, which the upstream never asked for.
	st.stripConsent = st.rev.Stateless()
	return authz.Credential{Header: header, Value: "Bearer " + tok}, nil
}

// CodeURLElicitationRequired is MCP's URLElicitationRequiredError
// (2025-11-25): the client shows the user a URL to open, then retries.
const CodeURLElicitationRequired = -32042

// ConsentInputKey names the gateway's consent request in a 2026-07-28
// InputRequiredResult's inputRequests (and the client's inputResponses).
const ConsentInputKey = "portcullis_consent"

// consentReply answers a POST that needs the user's consent first. A
// 2026-07-28 tools/call, prompts/get or resources/read (the requests
// that can end in an InputRequiredResult, SEP-2322) from a client that
// declared URL elicitation gets one: a URL-mode elicitation/create for
// the consent page, after which the client retries the same request with
// its inputResponses (removed before the upstream, see stripConsent).
// Everything else, and a retry whose answer declined, gets the -32042
// error, whose message names the URL as well.
func consentReply(raw []byte, rev mcp.Revision, ce *authz.ConsentRequiredError) []byte {
	id := mcp.PeekID(raw)
	if !id.Valid() || !wantsConsentInput(raw, rev) {
		return consentError(id, ce)
	}
	out := []byte(`{"jsonrpc":"2.0","id":`)
	out = append(out, id...)
	out = append(out, `,"result":{"resultType":"input_required","inputRequests":{"`+ConsentInputKey+`":{"method":"elicitation/create","params":{"mode":"url","elicitationId":`...)
	out = mcp.AppendJSONString(out, ce.ID)
	out = append(out, `,"url":`...)
	out = mcp.AppendJSONString(out, ce.URL)
	out = append(out, `,"message":`...)
	out = mcp.AppendJSONString(out, "Grant the gateway access to "+ce.Server+" on your behalf, then continue.")
	out = append(out, `}}}}}`...)
	return out
}

// wantsConsentInput: a 2026-07-28 request that may end in an
// InputRequiredResult, from a client that can show a URL, which has not
// just declined.
func wantsConsentInput(raw []byte, rev mcp.Revision) bool {
	if v := gjson.GetBytes(raw, `params._meta.io\.modelcontextprotocol/protocolVersion`).Str; v != "" {
		rev = mcp.Revision(v)
	}
	if !rev.Stateless() {
		return false
	}
	switch gjson.GetBytes(raw, "method").Str {
	case "tools/call", "prompts/get", "resources/read":
	default:
		return false
	}
	if !gjson.GetBytes(raw, `params._meta.io\.modelcontextprotocol/clientCapabilities.elicitation.url`).Exists() {
		return false
	}
	ans := gjson.GetBytes(raw, "params.inputResponses."+ConsentInputKey)
	if r := ans.Get("result"); r.Exists() {
		ans = r
	}
	a := ans.Get("action").Str
	return a != "decline" && a != "cancel"
}

// consentError is the -32042 error carrying a URL-mode elicitation for the
// gateway's consent page. The message names the URL too, so a client that
// does not know URL elicitation still shows the user where to go.
func consentError(id mcp.ID, ce *authz.ConsentRequiredError) []byte {
	msg := "upstream " + strconv.Quote(ce.Server) + " acts on your behalf and needs your consent: open " + ce.URL + " to grant access, then retry"
	out := []byte(`{"jsonrpc":"2.0","id":`)
	if id.Valid() {
		out = append(out, id...)
	} else {
		out = append(out, "null"...)
	}
	out = append(out, `,"error":{"code":`...)
	out = strconv.AppendInt(out, CodeURLElicitationRequired, 10)
	out = append(out, `,"message":`...)
	out = mcp.AppendJSONString(out, msg)
	out = append(out, `,"data":{"source":"portcullis","server":`...)
	out = mcp.AppendJSONString(out, ce.Server)
	out = append(out, `,"elicitations":[{"mode":"url","elicitationId":`...)
	out = mcp.AppendJSONString(out, ce.ID)
	out = append(out, `,"url":`...)
	out = mcp.AppendJSONString(out, ce.URL)
	out = append(out, `,"message":`...)
	out = mcp.AppendJSONString(out, "Grant the gateway access to "+ce.Server+" on your behalf.")
	return append(out, "}]}}}"...)
}

// stripConsentAnswer removes the client's answer to the gateway's consent
// request from a 2026-07-28 retry (nil when there is none).
func stripConsentAnswer(raw []byte) []byte {
	if !gjson.GetBytes(raw, "params.inputResponses."+ConsentInputKey).Exists() {
		return nil
	}
	out, err := sjson.DeleteBytes(raw, "params.inputResponses."+ConsentInputKey)
	if err != nil {
		return nil
	}
	return out
}

// upstreamRefused keeps an upstream's 401/403 away from the client: the
// caller authenticated to the gateway, so the upstream refused the
// gateway's credential, and its challenge (which names the upstream's own
// metadata and authorization server) would send the client elsewhere.
// Servers that receive the caller's token pass their challenge through;
// on a transparent route it is rewritten to point at the gateway's metadata.
func (st *stream) upstreamRefused(h *corev3.HeaderMap) *extprocv3.ProcessingResponse {
	if (st.status != 401 && st.status != 403) || st.server == nil {
		return nil
	}
	if rs := st.srv.Authz().RS; st.server.Transparent() && rs != nil {
		var set []*corev3.HeaderValueOption
		for _, x := range h.GetHeaders() {
			if x.Key == "www-authenticate" {
				set = append(set, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: x.Key,
					RawValue: []byte(rs.RewriteUpstreamChallenge(st.serverName, st.server.URL, headerValue(x)))},
					AppendAction: corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD})
			}
		}
		if len(set) == 0 {
			return nil
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{
			Response: &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{RemoveHeaders: []string{"www-authenticate"}, SetHeaders: set}},
		}}}
	}
	if st.server.Forwards() {
		return nil
	}
	if st.server.Delegates() && st.status == 401 {
		// The upstream no longer accepts this user's token (revoked there):
		// forget the grant so the next call asks for consent again.
		if d := st.srv.Authz().Delegation; d != nil {
			if err := d.Revoke(st.ctx, st.server.Name, st.agent.ID); err != nil {
				st.srv.logger.Warn("delegated grant not dropped", "server", st.server.Name, "error", err)
			}
		}
		return st.refuse(502, st.lone, mcp.CodeInternalError,
			"upstream "+strconv.Quote(st.server.Name)+" refused your delegated access (HTTP 401); the gateway dropped it: retry to grant access again", nil, "portcullis_upstream_unauthorized")
	}
	if k := st.server.UpstreamAuth.Upstream().Kind; st.status == 401 && (k == "" || k == authz.UpstreamNone) {
		// The gateway sent no credential: the upstream wants OAuth. Its
		// challenge is not passed on (it would send the client to the
		// upstream's own metadata); say what to configure instead.
		st.auditDecision(audit.PlaneRequest, audit.DecisionBlock, "", st.lone, "", "upstream.oauth_required", "", "")
		return st.refuse(502, st.lone, mcp.CodeInternalError,
			"upstream "+strconv.Quote(st.server.Name)+" requires OAuth authorization (HTTP 401) and the gateway has no credential for it: configure identity.oauth with servers[].upstream_auth.type: transparent "+
				"(clients authorize at the upstream's authorization server through the gateway), or give the gateway its own credential (servers[].upstream_auth.type: static, client_credentials, token_exchange or user_delegated)", nil, "portcullis_upstream_oauth_required")
	}
	return st.refuse(502, st.lone, mcp.CodeInternalError,
		"upstream "+strconv.Quote(st.server.Name)+" refused the gateway's credential (HTTP "+strconv.Itoa(st.status)+"); check servers[].upstream_auth", nil, "portcullis_upstream_unauthorized")
}

// auditAuthRefusal records a refused credential; the rule names the
// RFC 6750 error (authn.invalid_token, authn.insufficient_scope, ...).
func (st *stream) auditAuthRefusal(err error) { st.auditAuthRefusalCall(err, "", "", "") }

func (st *stream) auditAuthRefusalCall(err error, method string, id mcp.ID, tool string) {
	rule := "authn.invalid_token"
	var e *authz.Error
	if errors.As(err, &e) && e.Code != "" {
		rule = "authn." + e.Code
	}
	st.auditDecision(audit.PlaneRequest, audit.DecisionBlock, method, id, tool, rule, "", "")
}

// toolScopes is the union of the scopes of every tool_scopes pattern
// (exact name or glob) that matches tool.
func toolScopes(m map[string][]string, tool string) []string {
	var need []string
	for pattern, scopes := range m {
		if pattern != tool && !config.Glob(pattern, tool) {
			continue
		}
		for _, sc := range scopes {
			if !slices.Contains(need, sc) {
				need = append(need, sc)
			}
		}
	}
	slices.Sort(need)
	return need
}
