package authztest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Opaque issues opaque access tokens (validated through introspection).
	Opaque bool
	// TokenTTL is the access-token lifetime (default 1 h).
	TokenTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Scopes advertised in scopes_supported.
	Scopes []string
	// CIMDClient, when set, enables Client ID Metadata Documents: an https
	// client_id is fetched with it and must list the redirect URI.
	CIMDClient *http.Client
	// User names the person consenting at the authorization endpoint (the
	// sub of the tokens the code grants); default "<client id>-user".
	User func(r *http.Request) string
}

// Client is a registered client. An empty Secret is a public client.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// TokenRequest records one token-endpoint call for assertions.
type TokenRequest struct {
	GrantType string
	ClientID  string
	Resource  string
	Audience  string
	Scope     string
	// SubjectSub is the sub of the subject token of a token exchange.
	SubjectSub string
	// Issued is the access token returned ("" on error).
	Issued string
}

// Server is a running test authorization server.
type Server struct {
	URL  string // the issuer
	opts Options
	srv  *httptest.Server
	key  *ecdsa.PrivateKey
	kid  string

	mu       sync.Mutex
	clients  map[string]Client
	codes    map[string]codeGrant
	opaque   map[string]map[string]any
	refresh  map[string]map[string]any
	requests []TokenRequest
	seq      int
}

type codeGrant struct {
	client, redirect, challenge, scope, resource, user string
	exp                                                time.Time
}

// New starts a server; it stops when the test ends.
func New(t interface {
	Cleanup(func())
	Fatal(...any)
}, o Options) *Server {
	if o.TokenTTL == 0 {
		o.TokenTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{opts: o, key: key, kid: "as-1", clients: map[string]Client{}, codes: map[string]codeGrant{},
		opaque: map[string]map[string]any{}, refresh: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.metadata)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.metadata)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /introspect", s.introspect)
	mux.HandleFunc("POST /register", s.register)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AddClient registers a client.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// Requests returns the token requests seen so far.
func (s *Server) Requests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RevokeRefreshTokens forgets every refresh token issued so far (their
// next use fails with invalid_grant).
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refresh)
}

// AuthorizeURL is the authorization endpoint.
func (s *Server) AuthorizeURL() string { return s.URL + "/authorize" }

// JWKSURL, TokenURL and IntrospectionURL are the endpoints.
func (s *Server) JWKSURL() string          { return s.URL + "/jwks" }
func (s *Server) TokenURL() string         { return s.URL + "/token" }
func (s *Server) IntrospectionURL() string { return s.URL + "/introspect" }

func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{
		"issuer":                                         s.URL,
		"authorization_endpoint":                         s.URL + "/authorize",
		"token_endpoint":                                 s.URL + "/token",
		"jwks_uri":                                       s.URL + "/jwks",
		"introspection_endpoint":                         s.URL + "/introspect",
		"registration_endpoint":                          s.URL + "/register",
		"scopes_supported":                               s.opts.Scopes,
		"response_types_supported":                       []string{"code"},
		"grant_types_supported":                          []string{"authorization_code", "client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
		"client_id_metadata_document_supported":          s.opts.CIMDClient != nil,
	})
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	pub, _ := s.key.PublicKey.Bytes()
	writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": s.kid, "use": "sig", "alg": "ES256",
		"x": b64(pub[1:33]), "y": b64(pub[33:]),
	}}})
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	c, ok := s.clients[q.Get("client_id")]
	s.mu.Unlock()
	if !ok && s.opts.CIMDClient != nil && strings.HasPrefix(q.Get("client_id"), "https://") {
		c, ok = s.fetchClientMetadata(r, q.Get("client_id"))
	}
	redirect := q.Get("redirect_uri")
	if !ok || !slices.Contains(c.RedirectURIs, redirect) {
		// Never redirect to an unregistered URI (RFC 6749 §4.1.2.1).
		writeJSON(w, 400, oauthErr("invalid_request", "unknown client or unregistered redirect_uri"))
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		v.Set("iss", s.URL)
		http.Redirect(w, r, redirect+"?"+v.Encode(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE with S256 is required"}})
		return
	}
	code := s.random()
	user := c.ID + "-user"
	if s.opts.User != nil {
		if u := s.opts.User(r); u != "" {
			user = u
		}
	}
	s.mu.Lock()
	s.codes[code] = codeGrant{client: c.ID, redirect: redirect, challenge: q.Get("code_challenge"), scope: q.Get("scope"),
		resource: q.Get("resource"), user: user, exp: s.opts.Now().Add(time.Minute)}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

// fetchClientMetadata resolves a Client ID Metadata Document: the document
// at the client_id URL must name itself as client_id; the client becomes a
// public client with the listed redirect URIs.
func (s *Server) fetchClientMetadata(r *http.Request, id string) (Client, bool) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, id, nil)
	if err != nil {
		return Client{}, false
	}
	resp, err := s.opts.CIMDClient.Do(req)
	if err != nil {
		return Client{}, false
	}
	defer resp.Body.Close()
	var doc struct {
		ClientID     string   `json:"client_id"`
		RedirectURIs []string `json:"redirect_uris"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&doc) != nil || doc.ClientID != id {
		return Client{}, false
	}
	c := Client{ID: id, RedirectURIs: doc.RedirectURIs}
	s.AddClient(c)
	return c, true
}

// clientAuth authenticates the client (basic or post); public clients
// (no secret) are identified by client_id only.
func (s *Server) clientAuth(r *http.Request) (Client, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	c, ok := s.clients[id]
	s.mu.Unlock()
	if !ok || c.Secret != secret {
		return Client{}, false
	}
	return c, true
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, oauthErr("invalid_request", "bad form"))
		return
	}
	f := r.PostForm
	rec := TokenRequest{GrantType: f.Get("grant_type"), Resource: f.Get("resource"), Audience: f.Get("audience"), Scope: f.Get("scope")}
	c, ok := s.clientAuth(r)
	rec.ClientID = c.ID
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}()
	if !ok {
		writeJSON(w, 401, oauthErr("invalid_client", "client authentication failed"))
		return
	}
	var claims map[string]any
	switch rec.GrantType {
	case "authorization_code":
		s.mu.Lock()
		g, found := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code")) // single use
		s.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !found || s.opts.Now().After(g.exp) || g.client != c.ID:
			writeJSON(w, 400, oauthErr("invalid_grant", "unknown, used or expired code"))
			return
		case g.redirect != f.Get("redirect_uri"):
			writeJSON(w, 400, oauthErr("invalid_grant", "redirect_uri mismatch"))
			return
		case b64(sum[:]) != g.challenge:
			writeJSON(w, 400, oauthErr("invalid_grant", "PKCE verification failed"))
			return
		case rec.Resource != "" && g.resource != "" && rec.Resource != g.resource:
			writeJSON(w, 400, oauthErr("invalid_target", "resource differs from the authorization request"))
			return
		}
		claims = s.claims(c.ID, g.user, cmpOr(rec.Resource, g.resource), cmpOr(g.scope, rec.Scope))
	case "client_credentials":
		if c.Secret == "" {
			writeJSON(w, 400, oauthErr("unauthorized_client", "public clients cannot use client credentials"))
			return
		}
		claims = s.claims(c.ID, c.ID, cmpOr(rec.Resource, rec.Audience), rec.Scope)
	case "refresh_token":
		s.mu.Lock()
		old, found := s.refresh[f.Get("refresh_token")]
		s.mu.Unlock()
		if !found || old["client_id"] != c.ID {
			writeJSON(w, 400, oauthErr("invalid_grant", "unknown refresh token"))
			return
		}
		sub, _ := old["sub"].(string)
		aud, _ := old["aud"].(string)
		scope, _ := old["scope"].(string)
		claims = s.claims(c.ID, sub, aud, scope)
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		if c.Secret == "" {
			writeJSON(w, 400, oauthErr("unauthorized_client", "token exchange needs a confidential client"))
			return
		}
		subj, active := s.inspect(f.Get("subject_token"))
		if !active || f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
			writeJSON(w, 400, oauthErr("invalid_grant", "subject_token is not an active access token of this server"))
			return
		}
		sub, _ := subj["sub"].(string)
		rec.SubjectSub = sub
		scope := rec.Scope
		if scope == "" {
			scope, _ = subj["scope"].(string)
		}
		claims = s.claims(c.ID, sub, cmpOr(rec.Resource, rec.Audience), scope)
		act := map[string]any{"sub": c.ID}
		if prev, ok := subj["act"]; ok {
			act["act"] = prev
		}
		claims["act"] = act
	default:
		writeJSON(w, 400, oauthErr("unsupported_grant_type", rec.GrantType))
		return
	}
	tok := s.issue(claims)
	rec.Issued = tok
	resp := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.opts.TokenTTL / time.Second), "scope": claims["scope"]}
	if rec.GrantType == "urn:ietf:params:oauth:grant-type:token-exchange" {
		resp["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
	}
	if rec.GrantType == "authorization_code" {
		rt := s.random()
		s.mu.Lock()
		s.refresh[rt] = claims
		s.mu.Unlock()
		resp["refresh_token"] = rt
	}
	writeJSON(w, 200, resp)
}

func (s *Server) claims(client, sub, aud, scope string) map[string]any {
	now := s.opts.Now()
	c := map[string]any{"iss": s.URL, "sub": sub, "client_id": client, "scope": scope,
		"iat": now.Unix(), "exp": now.Add(s.opts.TokenTTL).Unix(), "jti": s.random()}
	if aud != "" {
		c["aud"] = aud
	}
	return c
}

// issue returns a JWT, or an opaque token recorded for introspection.
func (s *Server) issue(claims map[string]any) string {
	if !s.opts.Opaque {
		return s.Mint(claims)
	}
	tok := "opaque-" + s.random()
	s.mu.Lock()
	s.opaque[tok] = claims
	s.mu.Unlock()
	return tok
}

// Mint signs arbitrary claims with the server's key (iss is not added: the
// caller decides, so tests can mint tokens from the wrong issuer).
func (s *Server) Mint(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": s.kid, "typ": "at+jwt"})
	p, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(p)
	d := sha256.Sum256([]byte(in))
	r, ss, err := ecdsa.Sign(rand.Reader, s.key, d[:])
	if err != nil {
		panic(err) // crypto/rand failure
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return in + "." + b64(sig)
}

// Claims returns standard claims for sub/aud/scope issued now, for Mint.
func (s *Server) Claims(sub, aud, scope string) map[string]any {
	return s.claims("test-client", sub, aud, scope)
}

// inspect returns the claims of a token this server issued and whether it
// is active.
func (s *Server) inspect(tok string) (map[string]any, bool) {
	s.mu.Lock()
	c, ok := s.opaque[tok]
	s.mu.Unlock()
	if !ok {
		c, ok = s.verify(tok)
	}
	if !ok {
		return nil, false
	}
	exp, _ := c["exp"].(int64)
	if f, isF := c["exp"].(float64); isF {
		exp = int64(f)
	}
	if s.opts.Now().Unix() > exp {
		return nil, false
	}
	return c, true
}

func (s *Server) verify(tok string) (map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, false
	}
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(&s.key.PublicKey, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var c map[string]any
	if json.Unmarshal(raw, &c) != nil {
		return nil, false
	}
	if c["iss"] != s.URL {
		return nil, false
	}
	return c, true
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, oauthErr("invalid_request", "bad form"))
		return
	}
	if c, ok := s.clientAuth(r); !ok || c.Secret == "" {
		writeJSON(w, 401, oauthErr("invalid_client", "introspection needs client authentication"))
		return
	}
	c, ok := s.inspect(r.PostForm.Get("token"))
	if !ok {
		writeJSON(w, 200, map[string]any{"active": false})
		return
	}
	out := map[string]any{"active": true, "token_type": "Bearer"}
	for k, v := range c {
		out[k] = v
	}
	writeJSON(w, 200, out)
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var md struct {
		RedirectURIs []string `json:"redirect_uris"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&md); err != nil || len(md.RedirectURIs) == 0 {
		writeJSON(w, 400, oauthErr("invalid_client_metadata", "redirect_uris is required"))
		return
	}
	id := "dyn-" + s.random()
	s.AddClient(Client{ID: id, RedirectURIs: md.RedirectURIs})
	writeJSON(w, 201, map[string]any{"client_id": id, "redirect_uris": md.RedirectURIs, "token_endpoint_auth_method": "none",
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"}})
}

func (s *Server) random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	return fmt.Sprintf("%d-%s", n, b64(b))
}

func oauthErr(code, desc string) map[string]string {
	return map[string]string{"error": code, "error_description": desc}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
