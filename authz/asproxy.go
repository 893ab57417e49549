package authz

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ASProxyPrefix is where the gateway fronts the authorization server of a
// transparent route: <resource>/oauth/as/<server> is the issuer clients
// see, and its metadata, registration, authorization and token endpoints
// are the gateway's, so discovery, registration and token requests all go
// through it.
//
// Registration is rewritten so that the upstream's authorization server
// redirects to the gateway (<issuer>/callback), which sends the code on to
// the client's own redirect URI with iss = the gateway's issuer (RFC 9207):
// the client only ever talks to one issuer. The client id handed to the
// client wraps the upstream's client id and the client's redirect URIs,
// signed with the gateway's key, so no replica keeps registration state and
// a code is never sent to a redirect URI the client did not register.
const ASProxyPrefix = "/oauth/as/"

// ProxyIssuer is the issuer the gateway presents for a transparent route.
func (rs *ResourceServer) ProxyIssuer(server string) string {
	return rs.cfg.Resource + ASProxyPrefix + server
}

// proxyStateTTL bounds an authorization request through the gateway.
const proxyStateTTL = 10 * time.Minute

// authServer returns the upstream's authorization server issuer and its
// metadata (cached with the protected-resource metadata).
func (t *transparent) authServer(ctx context.Context) (string, map[string]any, error) {
	prm, err := t.upstreamMetadata(ctx)
	if err != nil {
		return "", nil, err
	}
	now := t.rs.cfg.Now()
	as, _ := prm["authorization_servers"].([]any)
	iss, _ := as[0].(string)
	t.mu.Lock()
	if t.asm != nil && t.asIssuer == iss && now.Sub(t.asmFetched) < prmTTL {
		asm := t.asm
		t.mu.Unlock()
		return iss, asm, nil
	}
	t.mu.Unlock()
	asm, err := authServerMetadata(ctx, t.rs.cfg.HTTPClient, iss)
	if err != nil {
		return "", nil, err
	}
	t.mu.Lock()
	t.asm, t.asmFetched, t.asIssuer = asm, now, iss
	t.mu.Unlock()
	return iss, asm, nil
}

// proxiedASMetadata is the upstream's authorization-server metadata with
// the gateway as issuer and endpoints. Only what the proxy carries is
// advertised: no introspection, revocation or PAR, no Client ID Metadata
// Documents (their redirect URIs are the client's, which the upstream
// would send codes to directly), no DPoP (refused on transparent routes).
func (t *transparent) proxiedASMetadata(ctx context.Context) (map[string]any, error) {
	_, asm, err := t.authServer(ctx)
	if err != nil {
		return nil, err
	}
	iss := t.rs.ProxyIssuer(t.server)
	out := map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": iss + "/authorize",
		"token_endpoint":         iss + "/token",
		"authorization_response_iss_parameter_supported": true,
		"client_id_metadata_document_supported":          false,
		"response_types_supported":                       []string{"code"},
	}
	if s, _ := asm["registration_endpoint"].(string); s != "" {
		out["registration_endpoint"] = iss + "/register"
	}
	for _, k := range []string{"scopes_supported", "response_modes_supported", "code_challenge_methods_supported", "jwks_uri", "service_documentation", "ui_locales_supported"} {
		if v, ok := asm[k]; ok {
			out[k] = v
		}
	}
	filter := func(k string, allowed ...string) {
		var keep []string
		list, _ := asm[k].([]any)
		for _, v := range list {
			if s, _ := v.(string); slices.Contains(allowed, s) {
				keep = append(keep, s)
			}
		}
		if len(keep) > 0 {
			out[k] = keep
		}
	}
	filter("grant_types_supported", "authorization_code", "refresh_token")
	filter("token_endpoint_auth_methods_supported", "client_secret_basic", "client_secret_post", "none")
	return out, nil
}

// sign and verify carry small JSON documents through the client (wrapped
// client ids, authorization state) under the gateway's key.
func (rs *ResourceServer) sign(kind string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, rs.proxyKey)
	m.Write([]byte(kind + "\x00" + p))
	return kind + "." + p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

var errBadSignature = errors.New("not issued by this gateway")

func (rs *ResourceServer) verify(kind, s string, v any) error {
	rest, ok := strings.CutPrefix(s, kind+".")
	p, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(s) > 8192 {
		return errBadSignature
	}
	want := hmac.New(sha256.New, rs.proxyKey)
	want.Write([]byte(kind + "\x00" + p))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want.Sum(nil)) {
		return errBadSignature
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return errBadSignature
	}
	return json.Unmarshal(b, v)
}

// proxyClient is a client registered through the gateway.
type proxyClient struct {
	Server    string   `json:"s"`
	Upstream  string   `json:"c"` // the upstream's client_id
	Redirects []string `json:"r"` // the client's own redirect URIs
	// Issuer is the upstream authorization server the client was
	// registered at: after the upstream moves to another one, the id is
	// refused (and never shown to the new server), so the client registers
	// again (SEP-2352).
	Issuer string `json:"i,omitempty"`
}

// proxyState is an authorization request in flight through the gateway.
type proxyState struct {
	Server   string `json:"s"`
	Redirect string `json:"r"`
	State    string `json:"t,omitempty"`
	Expires  int64  `json:"e"`
}

const (
	kindClient = "pcx"
	kindState  = "pst"
)

func (rs *ResourceServer) unwrapClient(server, id string) (*proxyClient, error) {
	var c proxyClient
	if err := rs.verify(kindClient, id, &c); err != nil || c.Server != server {
		return nil, errors.New("client_id was not registered through this gateway route; register at its registration_endpoint")
	}
	return &c, nil
}

// client unwraps a client id and checks it was registered at the
// upstream's current authorization server.
func (t *transparent) client(ctx context.Context, id string) (*proxyClient, error) {
	c, err := t.rs.unwrapClient(t.server, id)
	if err != nil {
		return nil, err
	}
	if c.Issuer == "" {
		return c, nil
	}
	iss, _, err := t.authServer(ctx)
	if err == nil && iss != c.Issuer {
		return nil, errors.New("client_id was registered with the upstream's previous authorization server; register again")
	}
	return c, nil
}

// redirectAllowed: exact match, or a loopback redirect URI differing only
// in its port (RFC 8252 §7.3).
func redirectAllowed(registered []string, got string) bool {
	if slices.Contains(registered, got) {
		return true
	}
	g, err := url.Parse(got)
	if err != nil || g.Scheme != "http" || (g.Hostname() != "127.0.0.1" && g.Hostname() != "[::1]" && g.Hostname() != "::1") {
		return false
	}
	for _, r := range registered {
		u, err := url.Parse(r)
		if err == nil && u.Scheme == g.Scheme && u.Hostname() == g.Hostname() && u.Path == g.Path && u.RawQuery == g.RawQuery {
			return true
		}
	}
	return false
}

func oauthJSONError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// ASProxyHandler serves <resource>/oauth/as/<server>/{authorize,callback,
// token,register,.well-known/openid-configuration} for transparent routes;
// other paths under the prefix get a JSON 404.
func ASProxyHandler(rs *ResourceServer, routes Routes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, _ := strings.CutPrefix(r.URL.Path, ASProxyPrefix)
		name, op, _ := strings.Cut(rest, "/")
		up, transparent, ok := routes.Route(name)
		if !ok || !transparent {
			oauthJSONError(w, http.StatusNotFound, "not_found", "no transparent MCP route named here")
			return
		}
		t, err := rs.transparentFor(name, up)
		if err != nil {
			oauthJSONError(w, http.StatusInternalServerError, "server_error", "bad upstream URL")
			return
		}
		switch {
		case op == "authorize" && r.Method == http.MethodGet:
			t.proxyAuthorize(w, r)
		case op == "callback" && r.Method == http.MethodGet:
			t.proxyCallback(w, r)
		case op == "token" && r.Method == http.MethodPost:
			t.proxyToken(w, r)
		case op == "register" && r.Method == http.MethodPost:
			t.proxyRegister(w, r)
		case op == strings.TrimPrefix(WellKnownOIDC, "/") && r.Method == http.MethodGet:
			t.serveASMetadata(w, r)
		default:
			oauthJSONError(w, http.StatusNotFound, "not_found", "unknown endpoint or method")
		}
	})
}

func (t *transparent) serveASMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := t.proxiedASMetadata(r.Context())
	if err != nil {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's authorization server metadata is unavailable: "+err.Error())
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, m)
}

func (t *transparent) proxyAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := t.client(r.Context(), q.Get("client_id"))
	if err != nil {
		// Never redirect for an unknown client (RFC 6749 §4.1.2.1).
		oauthJSONError(w, http.StatusBadRequest, "invalid_client", err.Error())
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(c.Redirects) == 1 {
		redirect = c.Redirects[0]
	}
	if !redirectAllowed(c.Redirects, redirect) {
		oauthJSONError(w, http.StatusBadRequest, "invalid_request", "redirect_uri is not registered for this client")
		return
	}
	_, asm, err := t.authServer(r.Context())
	endpoint, _ := asm["authorization_endpoint"].(string)
	if err != nil || endpoint == "" {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's authorization endpoint is unknown")
		return
	}
	st, err := t.rs.sign(kindState, proxyState{Server: t.server, Redirect: redirect, State: q.Get("state"), Expires: t.rs.cfg.Now().Add(proxyStateTTL).Unix()})
	if err != nil {
		oauthJSONError(w, http.StatusInternalServerError, "server_error", "state")
		return
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's authorization endpoint is not a URL")
		return
	}
	out := u.Query()
	for k, vs := range q {
		switch k {
		case "request", "request_uri", "response_mode":
			// A request object could name another redirect URI, and the
			// callback reads the query only.
			continue
		}
		out[k] = vs
	}
	out.Set("client_id", c.Upstream)
	out.Set("redirect_uri", t.rs.ProxyIssuer(t.server)+"/callback")
	out.Set("state", st)
	u.RawQuery = out.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (t *transparent) proxyCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var st proxyState
	if err := t.rs.verify(kindState, q.Get("state"), &st); err != nil || st.Server != t.server || t.rs.cfg.Now().Unix() > st.Expires {
		oauthJSONError(w, http.StatusBadRequest, "invalid_request", "unknown or expired authorization request")
		return
	}
	iss, _, err := t.authServer(r.Context())
	if err != nil {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's authorization server is unknown")
		return
	}
	if got := q.Get("iss"); got != "" && got != iss {
		// RFC 9207 mix-up defence, on the client's behalf.
		oauthJSONError(w, http.StatusBadRequest, "invalid_request", "the authorization response comes from another issuer")
		return
	}
	u, err := url.Parse(st.Redirect)
	if err != nil {
		oauthJSONError(w, http.StatusBadRequest, "invalid_request", "bad redirect_uri")
		return
	}
	out := u.Query()
	for _, k := range []string{"code", "error", "error_description", "error_uri"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if st.State != "" {
		out.Set("state", st.State)
	}
	out.Set("iss", t.rs.ProxyIssuer(t.server))
	u.RawQuery = out.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// forward sends an upstream request and copies its answer (status,
// content type, body up to 1 MiB).
func (t *transparent) forward(w http.ResponseWriter, req *http.Request) {
	resp, err := t.rs.cfg.HTTPClient.Do(req)
	if err != nil {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's authorization server is unreachable")
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	t.reply(w, resp, body)
}

func (t *transparent) reply(w http.ResponseWriter, resp *http.Response, body []byte) {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

func (t *transparent) proxyToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthJSONError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	form := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id = form.Get("client_id")
	}
	c, err := t.client(r.Context(), id)
	if err != nil {
		oauthJSONError(w, http.StatusUnauthorized, "invalid_client", err.Error())
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		if ru := form.Get("redirect_uri"); ru != "" && !redirectAllowed(c.Redirects, ru) {
			oauthJSONError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri is not registered for this client")
			return
		}
		// The upstream sent the code to the gateway's callback.
		form.Set("redirect_uri", t.rs.ProxyIssuer(t.server)+"/callback")
	case "refresh_token":
	default:
		oauthJSONError(w, http.StatusBadRequest, "unsupported_grant_type", "this gateway proxies authorization_code and refresh_token")
		return
	}
	if form.Has("client_id") {
		form.Set("client_id", c.Upstream)
	}
	_, asm, err := t.authServer(r.Context())
	endpoint, _ := asm["token_endpoint"].(string)
	if err != nil || endpoint == "" {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's token endpoint is unknown")
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "bad token endpoint")
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(c.Upstream), url.QueryEscape(secret))
	}
	t.forward(w, req)
}

func (t *transparent) proxyRegister(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	var md map[string]any
	if err != nil || json.Unmarshal(raw, &md) != nil || md == nil {
		oauthJSONError(w, http.StatusBadRequest, "invalid_client_metadata", "the body must be a JSON object")
		return
	}
	var redirects []string
	list, _ := md["redirect_uris"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if s == "" || err != nil || !u.IsAbs() || u.Fragment != "" {
			oauthJSONError(w, http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris must be absolute URIs without a fragment")
			return
		}
		redirects = append(redirects, s)
	}
	if len(redirects) == 0 || len(redirects) > 10 {
		oauthJSONError(w, http.StatusBadRequest, "invalid_redirect_uri", "between 1 and 10 redirect_uris are required")
		return
	}
	asIss, asm, err := t.authServer(r.Context())
	endpoint, _ := asm["registration_endpoint"].(string)
	if err != nil || endpoint == "" {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's authorization server has no registration endpoint")
		return
	}
	md["redirect_uris"] = []string{t.rs.ProxyIssuer(t.server) + "/callback"}
	body, _ := json.Marshal(md)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "bad registration endpoint")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a) // an initial access token for the upstream's AS (RFC 7591 §3)
	}
	resp, err := t.rs.cfg.HTTPClient.Do(req)
	if err != nil {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's authorization server is unreachable")
		return
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var reg map[string]any
	if resp.StatusCode/100 != 2 || json.Unmarshal(rb, &reg) != nil {
		t.reply(w, resp, rb)
		return
	}
	upID, _ := reg["client_id"].(string)
	if upID == "" {
		oauthJSONError(w, http.StatusBadGateway, "temporarily_unavailable", "the upstream's registration response has no client_id")
		return
	}
	wrapped, err := t.rs.sign(kindClient, proxyClient{Server: t.server, Upstream: upID, Redirects: redirects, Issuer: asIss})
	if err != nil {
		oauthJSONError(w, http.StatusInternalServerError, "server_error", "client id")
		return
	}
	reg["client_id"] = wrapped
	reg["redirect_uris"] = redirects
	// Client management (RFC 7592) is not proxied.
	delete(reg, "registration_access_token")
	delete(reg, "registration_client_uri")
	writeJSON(w, resp.StatusCode, reg)
}
