package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/portcullis-mcp/portcullis/authz/authztest"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// authHeaders records the credential headers every upstream request carried.
type authHeaders struct {
	mu   sync.Mutex
	seen []string // "authorization|dpop|x-api-key"
}

func (a *authHeaders) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Header.Get("Authorization")+"|"+r.Header.Get("DPoP")+"|"+r.Header.Get("X-Api-Key"))
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (a *authHeaders) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

type authzEnv struct {
	as          *authztest.Server
	base        string
	web, static *authHeaders
	webUp       *upstream
	gw          *gateway.Gateway
	auditDir    string
	// cimd hosts client ID metadata documents over https.
	cimd *httptest.Server
	cfg  *config.Config
}

// freeAddr reserves a loopback port: the gateway's public resource URL
// (identity.oauth.resource) must be known before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// startAuthzEnv starts the authorization server, two upstreams and the
// gateway; extra is appended to the configuration (top-level sections).
func startAuthzEnv(t *testing.T, extra ...string) *authzEnv {
	t.Helper()
	e := &authzEnv{web: &authHeaders{}, static: &authHeaders{}}
	var cimdURL string
	e.cimd = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"client_id": cimdURL + r.URL.Path, "client_name": "e2e CIMD client",
			"redirect_uris": []string{"http://127.0.0.1:9/callback"}, "token_endpoint_auth_method": "none",
			"grant_types": []string{"authorization_code"}, "response_types": []string{"code"}})
	}))
	cimdURL = e.cimd.URL
	t.Cleanup(e.cimd.Close)
	e.as = authztest.New(t, authztest.Options{Scopes: []string{"mcp", "web:crawl"}, CIMDClient: e.cimd.Client()})
	e.as.AddClient(authztest.Client{ID: "portcullis", Secret: "gw-client-secret"})
	t.Setenv("PORTCULLIS_AS_SECRET", "gw-client-secret")
	t.Setenv("STATIC_UPSTREAM_KEY", "static-upstream-key-1")
	e.webUp = newUpstream(t, e.web.wrap(webmcp.Handler()))
	staticUp := newUpstream(t, e.static.wrap(webmcp.Handler()))
	addr := freeAddr(t)
	e.base = "http://" + addr
	e.auditDir = t.TempDir()
	yaml := fmt.Sprintf(`
audit: {dir: %s, commit: {interval: 5ms}}
listen: {proxy: %s, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - name: web
    url: %s/mcp
    tools: {allow: ["*"]}
    tool_scopes: {crawl: [web:crawl]}
    upstream_auth: {type: token_exchange, token_url: %s, client_id: portcullis, client_secret_env: PORTCULLIS_AS_SECRET, audience: "https://web-upstream.example/mcp"}
  - name: keyed
    url: %s/mcp
    tools: {allow: ["*"]}
    upstream_auth: {type: static, header: x-api-key, secret_env: STATIC_UPSTREAM_KEY}
identity:
  oauth:
    resource: %s
    authorization_servers: [%s]
    jwks_url: %s
    scopes: [mcp]
%s
`, e.auditDir, addr, e.webUp.srv.URL, e.as.TokenURL(), staticUp.srv.URL, e.base, e.as.URL, e.as.JWKSURL(), strings.Join(extra, "\n"))
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	e.gw, e.cfg = gw, cfg
	return e
}

// browser plays the user agent at the authorization endpoint: it follows
// nothing and returns the code from the redirect, as a native app's
// loopback listener would.
func browser(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("authorize: HTTP %d %s", resp.StatusCode, b)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		return nil, fmt.Errorf("authorize: %s %s", q.Get("error"), q.Get("error_description"))
	}
	return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
}

// TestAuthzOfficialClientEndToEnd: the official Go SDK client, knowing only
// the gateway's MCP URL, gets a 401 challenge, discovers the protected
// resource metadata on the gateway, finds the authorization server,
// registers dynamically, runs the authorization-code flow with PKCE for the
// gateway's resource, and calls a tool. The upstream receives a token
// obtained by RFC 8693 exchange for its own audience, never the client's.
func TestAuthzOfficialClientEndToEnd(t *testing.T) {
	e := startAuthzEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{RedirectURIs: []string{"http://127.0.0.1:9/callback"}, ClientName: "e2e"},
		},
		AuthorizationCodeFetcher: browser,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e-oauth", Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: e.base + "/mcp/web", OAuthHandler: h, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("connect through OAuth: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "fetch", Arguments: map[string]any{"url": "https://example.com"}})
	if err != nil || res.IsError {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	if !strings.Contains(resultText(res), "Example Domain") {
		t.Fatalf("result %q", resultText(res))
	}

	ts, err := h.TokenSource(ctx)
	if err != nil || ts == nil {
		t.Fatalf("token source: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	clientToken := tok.AccessToken

	// The client asked the AS for a token for the gateway's route (it read
	// the resource from the gateway's metadata), and the gateway exchanged
	// it for one whose audience is the upstream.
	var codeGrant, exchange *authztest.TokenRequest
	reqs := e.as.Requests()
	for i := range reqs {
		switch reqs[i].GrantType {
		case "authorization_code":
			codeGrant = &reqs[i]
		case "urn:ietf:params:oauth:grant-type:token-exchange":
			exchange = &reqs[i]
		}
	}
	if codeGrant == nil || codeGrant.Resource != e.base+"/mcp/web" || codeGrant.Issued != clientToken {
		t.Fatalf("authorization-code grant %+v; want resource %s", codeGrant, e.base+"/mcp/web")
	}
	if exchange == nil || exchange.ClientID != "portcullis" || exchange.Audience != "https://web-upstream.example/mcp" || exchange.SubjectSub == "" || exchange.Issued == "" {
		t.Fatalf("token exchange %+v", exchange)
	}
	seen := e.web.all()
	if len(seen) == 0 {
		t.Fatal("upstream saw nothing")
	}
	for _, s := range seen {
		if strings.Contains(s, clientToken) {
			t.Fatalf("the client's token reached the upstream: %q", s)
		}
		if s != "Bearer "+exchange.Issued+"||" {
			t.Fatalf("upstream credential %q, want the exchanged token", s)
		}
	}
	// Exchanged once, then cached until expiry.
	n := 0
	for _, r := range e.as.Requests() {
		if r.GrantType == "urn:ietf:params:oauth:grant-type:token-exchange" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d token exchanges for one caller token, want 1 (cached)", n)
	}

	// Step-up: crawl needs web:crawl, which the token lacks. The gateway
	// answers 403 insufficient_scope with the scopes to ask for; the SDK
	// client re-authorizes for them and retries.
	before := e.web.all()
	res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "crawl", Arguments: map[string]any{"url": "https://example.com", "delay_ms": 1}})
	if err != nil || res.IsError {
		t.Fatalf("crawl after step-up: %v %+v", err, res)
	}
	var grants []authztest.TokenRequest
	for _, r := range e.as.Requests() {
		if r.GrantType == "authorization_code" {
			grants = append(grants, r)
		}
	}
	tok2, err := ts2(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 2 || grants[1].Issued != tok2 || tok2 == clientToken || !strings.Contains(claimOf(t, tok2, "scope"), "web:crawl") {
		t.Fatalf("authorization-code grants %+v, want a second one for web:crawl", grants)
	}
	for _, s := range e.web.all()[len(before):] {
		if strings.Contains(s, tok2) || strings.Contains(s, clientToken) {
			t.Fatalf("a client token reached the upstream after step-up: %q", s)
		}
	}
}

func claimOf(t *testing.T, jwt, name string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	s, _ := c[name].(string)
	return s
}

func ts2(ctx context.Context, h *auth.AuthorizationCodeHandler) (string, error) {
	ts, err := h.TokenSource(ctx)
	if err != nil {
		return "", err
	}
	tok, err := ts.Token()
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// TestAuthzToolScopeRefusedWithoutStepUp: a raw client that does not step
// up gets 403 insufficient_scope naming the tool's scope, and the call
// never reaches the upstream.
func TestAuthzToolScopeRefusedWithoutStepUp(t *testing.T) {
	e := startAuthzEnv(t)
	c := e.as.Claims("alice", e.base+"/mcp/web", "mcp")
	c["iss"] = e.as.URL
	status, ch, body := authPost(t, e.base+"/mcp/web", e.as.Mint(c),
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"crawl","arguments":{"url":"https://example.com"}}}`)
	if status != 403 || !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="mcp web:crawl"`) {
		t.Fatalf("status %d challenge %q body %s", status, ch, body)
	}
	if !strings.Contains(body, `"id":7`) || !strings.Contains(body, "web:crawl") {
		t.Fatalf("body %s", body)
	}
	if e.webUp.saw("POST tools/call crawl") {
		t.Fatal("the refused call reached the upstream")
	}
}

// post sends one JSON-RPC request with a bearer token and returns the
// status, the WWW-Authenticate header and the body.
func authPost(t *testing.T, url, token, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`

func TestAuthzRefusalsCarryChallenges(t *testing.T) {
	e := startAuthzEnv(t)
	res := e.base + "/mcp/web"
	meta := `resource_metadata="` + e.base + `/.well-known/oauth-protected-resource/mcp/web"`
	mint := func(over map[string]any) string {
		c := e.as.Claims("mallory", res, "mcp")
		c["iss"] = e.as.URL
		for k, v := range over {
			c[k] = v
		}
		return e.as.Mint(c)
	}
	tests := []struct {
		name, token            string
		wantStatus             int
		wantChallenge, wantMsg []string
	}{
		{"no token", "", 401, []string{"Bearer ", meta, `scope="mcp"`}, []string{"unauthenticated: this MCP endpoint requires an OAuth access token"}},
		{"token for another audience", mint(map[string]any{"aud": "https://web-upstream.example/mcp"}), 401,
			[]string{`error="invalid_token"`, meta, "resource=" + res}, []string{"audience"}},
		{"token for another route", mint(map[string]any{"aud": e.base + "/mcp/keyed"}), 401, []string{`error="invalid_token"`, meta}, []string{"audience"}},
		{"expired token", mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), 401, []string{`error="invalid_token"`, meta}, []string{"expired"}},
		{"token from another issuer", mint(map[string]any{"iss": "https://evil.example"}), 401, []string{`error="invalid_token"`, meta}, []string{"issued"}},
		{"token lacking scope", mint(map[string]any{"scope": "web:crawl"}), 403, []string{`error="insufficient_scope"`, `scope="web:crawl mcp"`, meta}, []string{"forbidden: insufficient_scope"}},
		{"opaque garbage", "not-a-jwt", 401, []string{`error="invalid_token"`, meta}, []string{"unauthenticated:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.webUp.hits.Load()
			status, ch, body := authPost(t, res, tt.token, initBody)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			for _, w := range tt.wantChallenge {
				if !strings.Contains(ch, w) {
					t.Errorf("WWW-Authenticate %q lacks %q", ch, w)
				}
			}
			var rpc struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &rpc); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(rpc.Error.Message, w) {
					t.Errorf("message %q lacks %q", rpc.Error.Message, w)
				}
			}
			if strings.Contains(rpc.Error.Message, "unauthenticated: unauthenticated:") {
				t.Errorf("message repeats itself: %q", rpc.Error.Message)
			}
			if e.webUp.hits.Load() != before {
				t.Fatal("a refused request reached the upstream")
			}
		})
	}
	// Refused credentials are audited (not the bare 401 of discovery), and
	// no token is written.
	_ = e.gw.Close()
	log := readAll(t, e.auditDir)
	for _, w := range []string{`"authn.invalid_token"`, `"authn.insufficient_scope"`} {
		if !strings.Contains(log, w) {
			t.Errorf("audit lacks %s:\n%s", w, log)
		}
	}
	if strings.Contains(log, "eyJ") {
		t.Error("a token was written to the audit log")
	}
}

func TestAuthzMetadataOnGateway(t *testing.T) {
	e := startAuthzEnv(t)
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, m
	}
	ctx := context.Background()
	// The SDK's own discovery code accepts the document (resource must
	// equal the URL the client used, RFC 9728 §3.3).
	prm, err := oauthex.GetProtectedResourceMetadata(ctx, e.base+"/.well-known/oauth-protected-resource/mcp/web", e.base+"/mcp/web", http.DefaultClient)
	if err != nil || prm.AuthorizationServers[0] != e.as.URL || strings.Join(prm.ScopesSupported, " ") != "mcp web:crawl" {
		t.Fatalf("path-inserted metadata %+v: %v", prm, err)
	}
	if st, m := get("/.well-known/oauth-protected-resource"); st != 200 || m["resource"] != e.base {
		t.Fatalf("root metadata %d %v", st, m)
	}
	if st, m := get("/.well-known/oauth-protected-resource/mcp/nope"); st != 404 || m["error"] != "not_found" {
		t.Fatalf("unknown route %d %v", st, m)
	}
	// Envoy routes the metadata path to the admin listener (xds, envoy.yaml):
	// it serves the same document.
	if prm, err := oauthex.GetProtectedResourceMetadata(ctx, "http://"+e.gw.AdminAddr()+"/.well-known/oauth-protected-resource/mcp/web", e.base+"/mcp/web", http.DefaultClient); err != nil || prm.Resource != e.base+"/mcp/web" {
		t.Fatalf("metadata on the admin listener %+v: %v", prm, err)
	}
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/mcp/web"} {
		if st, m := get(p); st != 404 || m["error"] != "not_found" {
			t.Fatalf("%s: %d %v", p, st, m)
		}
	}
}

// TestAuthzStaticCredentialReplacesClientToken: a server with a static
// upstream key gets that key in its own header and no Authorization at all.
func TestAuthzStaticCredentialReplacesClientToken(t *testing.T) {
	e := startAuthzEnv(t)
	c := e.as.Claims("alice", e.base+"/mcp/keyed", "mcp")
	c["iss"] = e.as.URL
	tok := e.as.Mint(c)
	req, _ := http.NewRequest(http.MethodPost, e.base+"/mcp/keyed", strings.NewReader(initBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Api-Key", "client-chosen-key")
	req.Header.Set("DPoP", "client-proof")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	seen := e.static.all()
	if len(seen) != 1 || seen[0] != "||static-upstream-key-1" {
		t.Fatalf("upstream saw %q, want only the static key", seen)
	}
}

// protectedUpstream is an MCP server that is its own OAuth resource server:
// it publishes RFC 9728 metadata naming its authorization server and
// accepts only tokens that server says are active.
func protectedUpstream(t *testing.T, as *authztest.Server, h http.Handler, seen *authHeaders) *upstream {
	t.Helper()
	as.AddClient(authztest.Client{ID: "upstream-rs", Secret: "upstream-rs-secret"})
	var self string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": self + "/mcp", "authorization_servers": []string{as.URL}, "scopes_supported": []string{"up"}})
	})
	mux.Handle("/mcp", seen.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		req, _ := http.NewRequest(http.MethodPost, as.IntrospectionURL(), strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("upstream-rs", "upstream-rs-secret")
		resp, err := http.DefaultClient.Do(req)
		var ir struct {
			Active bool `json:"active"`
		}
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&ir)
			resp.Body.Close()
		}
		if tok == "" || !ir.Active {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+self+`/.well-known/oauth-protected-resource/mcp", scope="up"`)
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})))
	u := newUpstream(t, mux)
	self = u.srv.URL
	return u
}

// TestAuthzTransparentRoute: the upstream stays the resource server. The
// official client, pointed at the gateway, follows the upstream's
// challenge (rewritten to the gateway's metadata), gets a token from the
// upstream's authorization server for the gateway's route URL, and calls a
// tool; the gateway identified the caller against the upstream's issuer.
func TestAuthzTransparentRoute(t *testing.T) {
	gwAS := authztest.New(t, authztest.Options{Scopes: []string{"mcp"}})
	upAS := authztest.New(t, authztest.Options{Scopes: []string{"up"}})
	seen := &authHeaders{}
	up := protectedUpstream(t, upAS, webmcp.Handler(), seen)
	base := startTransparentGateway(t, up.srv.URL, gwAS)

	// A raw client without a token gets the upstream's challenge, pointing
	// at the gateway's metadata, which names the upstream's AS and the
	// gateway's route as the resource.
	status, ch, _ := authPost(t, base+"/mcp/up", "", initBody)
	if status != 401 || !strings.Contains(ch, `resource_metadata="`+base+`/.well-known/oauth-protected-resource/mcp/up"`) || strings.Contains(ch, up.srv.URL) {
		t.Fatalf("status %d challenge %q", status, ch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The metadata names the upstream's own AS: the client registers,
	// authorizes and gets its token there, for the gateway's route URL.
	prm, err := oauthex.GetProtectedResourceMetadata(ctx, base+"/.well-known/oauth-protected-resource/mcp/up", base+"/mcp/up", http.DefaultClient)
	if err != nil || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != upAS.URL {
		t.Fatalf("metadata %+v: %v", prm, err)
	}
	// The gateway is no authorization server for the route.
	if resp, err := http.Get(base + "/.well-known/oauth-authorization-server/oauth/as/up"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("authorization-server metadata on the gateway: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{RedirectURIs: []string{"http://127.0.0.1:9/callback"}},
		},
		// One redirect, straight back to the client with the upstream
		// AS's RFC 9207 iss, which the SDK checks against the issuer
		// it discovered.
		AuthorizationCodeFetcher: browser,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e-transparent", Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: base + "/mcp/up", OAuthHandler: h, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "fetch", Arguments: map[string]any{"url": "https://example.com"}})
	if err != nil || res.IsError || !strings.Contains(resultText(res), "Example Domain") {
		t.Fatalf("fetch: %v %+v", err, res)
	}
	var grant *authztest.TokenRequest
	for _, r := range upAS.Requests() {
		if r.GrantType == "authorization_code" {
			grant = &r
		}
	}
	if grant == nil || grant.Resource != base+"/mcp/up" {
		t.Fatalf("the client did not get its token from the upstream's AS for the gateway's route: %+v", grant)
	}
	// The client registered at the upstream's AS itself.
	if !strings.HasPrefix(grant.ClientID, "dyn-") || grant.Issued == "" {
		t.Fatalf("code grant at the upstream AS %+v", grant)
	}
	if len(gwAS.Requests()) != 0 {
		t.Fatalf("the gateway's own AS was used: %+v", gwAS.Requests())
	}

	// A token from another issuer (the gateway's own AS) is refused by the
	// gateway before the upstream sees it.
	claims := gwAS.Claims("mallory", base+"/mcp/up", "up")
	claims["iss"] = gwAS.URL
	before := up.hits.Load()
	status, ch, _ = authPost(t, base+"/mcp/up", gwAS.Mint(claims), initBody)
	if status != 401 || !strings.Contains(ch, `error="invalid_token"`) || up.hits.Load() != before {
		t.Fatalf("foreign-issuer token: status %d challenge %q, upstream hits %d→%d", status, ch, before, up.hits.Load())
	}
}

// dpopProof signs a DPoP proof (RFC 9449) for tok with key.
func dpopProof(t *testing.T, key *ecdsa.PrivateKey, htm, htu, tok, jti string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	pub, _ := key.PublicKey.Bytes()
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(pub[1:33]), "y": enc.EncodeToString(pub[33:])}
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk})
	ath := sha256.Sum256([]byte(tok))
	p, _ := json.Marshal(map[string]any{"htm": htm, "htu": htu, "iat": time.Now().Unix(), "jti": jti, "ath": enc.EncodeToString(ath[:])})
	in := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + enc.EncodeToString(sig)
}

// TestAuthzDPoPThroughGateway: a DPoP-bound token with a valid proof is
// accepted, neither the token nor the proof reaches the upstream, and a
// replayed proof is refused with a DPoP challenge.
func TestAuthzDPoPThroughGateway(t *testing.T) {
	e := startAuthzEnv(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey.Bytes()
	enc := base64.RawURLEncoding
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(pub[1:33]) + `","y":"` + enc.EncodeToString(pub[33:]) + `"}`))
	c := e.as.Claims("alice", e.base+"/mcp/keyed", "mcp")
	c["iss"] = e.as.URL
	c["cnf"] = map[string]any{"jkt": enc.EncodeToString(sum[:])}
	tok := e.as.Mint(c)
	send := func(proof string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.base+"/mcp/keyed", strings.NewReader(initBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	proof := dpopProof(t, key, "POST", e.base+"/mcp/keyed", tok, "p-1")
	if st, ch := send(proof); st != 200 {
		t.Fatalf("valid DPoP: %d %s", st, ch)
	}
	if seen := e.static.all(); len(seen) != 1 || seen[0] != "||static-upstream-key-1" {
		t.Fatalf("upstream saw %q", seen)
	}
	if st, ch := send(proof); st != 401 || !strings.HasPrefix(ch, `DPoP error="invalid_dpop_proof"`) {
		t.Fatalf("replayed proof: %d %s", st, ch)
	}
}

// TestAuthzClientIDMetadataDocument: the client identifies itself with a
// Client ID Metadata Document URL instead of registering.
func TestAuthzClientIDMetadataDocument(t *testing.T) {
	e := startAuthzEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clientID := e.cimd.URL + "/clients/e2e.json"
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		ClientIDMetadataDocumentConfig: &auth.ClientIDMetadataDocumentConfig{URL: clientID},
		RedirectURL:                    "http://127.0.0.1:9/callback",
		AuthorizationCodeFetcher:       browser,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e-cimd", Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: e.base + "/mcp/keyed", OAuthHandler: h, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var grant *authztest.TokenRequest
	for _, r := range e.as.Requests() {
		if r.GrantType == "authorization_code" {
			grant = &r
		}
	}
	if grant == nil || grant.ClientID != clientID || grant.Resource != e.base+"/mcp/keyed" {
		t.Fatalf("grant %+v", grant)
	}
	for _, s := range e.static.all() {
		if s != "||static-upstream-key-1" {
			t.Fatalf("upstream saw %q", s)
		}
	}
}

// TestTokenNeverPassedThroughByDefault (issue 11 #18): without any identity
// or upstream_auth configured, the client's Authorization header still never
// reaches the upstream; only an explicit forward_client_token passes it.
func TestTokenNeverPassedThroughByDefault(t *testing.T) {
	plain, fwd := &authHeaders{}, &authHeaders{}
	up1 := newUpstream(t, plain.wrap(webmcp.Handler()))
	up2 := newUpstream(t, fwd.wrap(webmcp.Handler()))
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}
servers:
  - {name: plain, url: %s/mcp, tools: {allow: ["*"]}}
  - {name: fwd, url: %s/mcp, tools: {allow: ["*"]}, upstream_auth: {forward_client_token: true}}
`, up1.srv.URL, up2.srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	for _, name := range []string{"plain", "fwd"} {
		if st, _, body := authPost(t, "http://"+gw.ProxyAddr()+"/mcp/"+name, "client-secret-token", initBody); st != 200 {
			t.Fatalf("%s: %d %s", name, st, body)
		}
	}
	if got := plain.all(); len(got) != 1 || got[0] != "||" {
		t.Fatalf("default route: upstream saw %q, want no credential", got)
	}
	if got := fwd.all(); len(got) != 1 || got[0] != "Bearer client-secret-token||" {
		t.Fatalf("opt-in route: upstream saw %q", got)
	}
}

// TestAuthzReload: a reload that changes identity.oauth applies at once
// (metadata and token checks); a reload that cannot build the new resource
// server keeps the running one.
func TestAuthzReload(t *testing.T) {
	e := startAuthzEnv(t)
	c := e.as.Claims("alice", e.base+"/mcp/keyed", "mcp")
	c["iss"] = e.as.URL
	tok := e.as.Mint(c)
	if st, _, body := authPost(t, e.base+"/mcp/keyed", tok, initBody); st != 200 {
		t.Fatalf("before reload: %d %s", st, body)
	}
	cfg := *e.cfg
	oauth := *cfg.Identity.OAuth
	oauth.Scopes = []string{"mcp", "admin"}
	cfg.Identity.OAuth = &oauth
	if err := e.gw.Reload(&cfg); err != nil {
		t.Fatal(err)
	}
	st, ch, _ := authPost(t, e.base+"/mcp/keyed", tok, initBody)
	if st != 403 || !strings.Contains(ch, `scope="mcp admin"`) {
		t.Fatalf("after reload: %d %q", st, ch)
	}
	bad := cfg
	badOAuth := oauth
	badOAuth.JWKSURL = "http://127.0.0.1:1/jwks"
	bad.Identity.OAuth = &badOAuth
	if err := e.gw.Reload(&bad); err == nil {
		t.Fatal("reload with an unreachable JWKS succeeded")
	}
	if st, ch, _ := authPost(t, e.base+"/mcp/keyed", tok, initBody); st != 403 || !strings.Contains(ch, `scope="mcp admin"`) {
		t.Fatalf("after failed reload the running config changed: %d %q", st, ch)
	}
}

// TestAuthzTransparentResourceMismatch: an upstream whose protected-resource
// metadata names another resource (RFC 9728 §3.3) is refused by the
// gateway, not relabelled with the gateway's URL: the official client,
// pointed at the gateway, cannot start authorization, and no token ever
// reaches the upstream.
func TestAuthzTransparentResourceMismatch(t *testing.T) {
	gwAS := authztest.New(t, authztest.Options{Scopes: []string{"mcp"}})
	upAS := authztest.New(t, authztest.Options{Scopes: []string{"up"}})
	seen := &authHeaders{}
	var self string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": "https://evil.example.com/mcp", "authorization_servers": []string{upAS.URL}})
	})
	mux.Handle("/mcp", seen.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+self+`/.well-known/oauth-protected-resource/mcp"`)
		http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
	})))
	up := newUpstream(t, mux)
	self = up.srv.URL
	base := startTransparentGateway(t, up.srv.URL, gwAS)

	resp, err := http.Get(base + "/.well-known/oauth-protected-resource/mcp/up")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if resp.StatusCode != 502 || m["error"] != "invalid_resource_metadata" || !strings.Contains(m["error_description"], "evil.example.com") {
		t.Fatalf("metadata: %d %v", resp.StatusCode, m)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{RedirectURIs: []string{"http://127.0.0.1:9/callback"}},
		},
		AuthorizationCodeFetcher: browser,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e-mismatch", Version: "v0"}, nil)
	if cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: base + "/mcp/up", OAuthHandler: h, DisableStandaloneSSE: true}, nil); err == nil {
		cs.Close()
		t.Fatal("connected through an upstream with mismatching metadata")
	}
	for _, s := range seen.all() {
		if !strings.HasPrefix(s, "|") {
			t.Fatalf("the upstream received a credential: %q", s)
		}
	}
}

// startTransparentGateway starts a gateway with one transparent route, "up",
// to upstreamURL/mcp, gwAS as its own authorization server (scope mcp), and
// returns its base URL; the gateway is closed when the test ends.
func startTransparentGateway(t *testing.T, upstreamURL string, gwAS *authztest.Server) string {
	t.Helper()
	addr := freeAddr(t)
	base := "http://" + addr
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: %s, extproc: 127.0.0.1:0}
servers:
  - name: up
    url: %s/mcp
    tools: {allow: ["*"]}
    upstream_auth: {type: transparent}
identity:
  oauth: {resource: %s, authorization_servers: [%s], jwks_url: %s, scopes: [mcp]}
`, addr, upstreamURL, base, gwAS.URL, gwAS.JWKSURL())))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return base
}
