package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/authz/authztest"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
)

// delegatedEnv: the gateway is the resource server for its callers (gwAS)
// and holds, per caller, the caller's own token for an upstream that is an
// OAuth resource server of upAS (user-delegated upstream OAuth).
type delegatedEnv struct {
	gwAS, upAS *authztest.Server
	base       string
	seen       *authHeaders
	up         *upstream
	gw         *gateway.Gateway
}

func startDelegatedEnv(t *testing.T, state string) *delegatedEnv {
	return startDelegatedEnvWith(t, delegatedOpts{state: state})
}

// delegatedOpts vary the environment: state is the state: section, h the
// upstream's MCP handler (default webmcp), discover leaves the upstream's
// authorization and token endpoints and resource to discovery from its
// metadata, login makes consents need a sign-in at gwAS (the person is
// named by the X-Test-Login header).
type delegatedOpts struct {
	state           string
	h               http.Handler
	discover, login bool
}

func startDelegatedEnvWith(t *testing.T, o delegatedOpts) *delegatedEnv {
	t.Helper()
	e := &delegatedEnv{seen: &authHeaders{}}
	h, state := o.h, o.state
	if h == nil {
		h = webmcp.Handler()
	}
	e.gwAS = authztest.New(t, authztest.Options{Scopes: []string{"mcp"}, User: func(r *http.Request) string { return r.Header.Get("X-Test-Login") }})
	// The person at the browser says who they are at the upstream.
	e.upAS = authztest.New(t, authztest.Options{Scopes: []string{"up"}, User: func(r *http.Request) string { return r.Header.Get("X-Test-User") }})
	e.up = protectedUpstream(t, e.upAS, h, e.seen)
	addr := freeAddr(t)
	e.base = "http://" + addr
	e.upAS.AddClient(authztest.Client{ID: "portcullis-delegated", Secret: "deleg-secret", RedirectURIs: []string{e.base + "/oauth/upstream/callback"}})
	t.Setenv("PORTCULLIS_UP_CLIENT_SECRET", "deleg-secret")
	t.Setenv("PORTCULLIS_DELEGATION_KEY", strings.Repeat("5a", 32))
	endpoints := fmt.Sprintf("      authorization_url: %s\n      token_url: %s\n      resource: %s/mcp\n", e.upAS.AuthorizeURL(), e.upAS.TokenURL(), e.up.srv.URL)
	if o.discover {
		endpoints = ""
	}
	login := ""
	if o.login {
		e.gwAS.AddClient(authztest.Client{ID: "portcullis-login", Secret: "login-secret", RedirectURIs: []string{e.base + "/oauth/upstream/login"}})
		t.Setenv("PORTCULLIS_LOGIN_SECRET", "login-secret")
		login = ", login: {client_id: portcullis-login, client_secret_env: PORTCULLIS_LOGIN_SECRET}"
	}
	yaml := fmt.Sprintf(`
audit: {dir: %s}
listen: {proxy: %s, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - name: up
    url: %s/mcp
    tools: {allow: ["*"]}
    upstream_auth:
      type: user_delegated
%s      client_id: portcullis-delegated
      client_secret_env: PORTCULLIS_UP_CLIENT_SECRET
      scopes: [up]
identity:
  oauth:
    resource: %s
    authorization_servers: [%s]
    jwks_url: %s
    scopes: [mcp]
  upstream_oauth: {key_env: PORTCULLIS_DELEGATION_KEY%s}
%s
`, t.TempDir(), addr, e.up.srv.URL, endpoints, e.base, e.gwAS.URL, e.gwAS.JWKSURL(), login, state)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	e.gw = gw
	return e
}

// callerToken is a gateway token for sub, as a client would obtain it.
func (e *delegatedEnv) callerToken(sub string) string {
	c := e.gwAS.Claims(sub, e.base+"/mcp/up", "mcp")
	c["iss"] = e.gwAS.URL
	return e.gwAS.Mint(c)
}

type rpcReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Elicitations []struct {
				Mode, ElicitationID, URL string
			} `json:"elicitations"`
		} `json:"data"`
	} `json:"error"`
}

func (e *delegatedEnv) call(t *testing.T, tok, body string) (int, rpcReply) {
	t.Helper()
	status, _, raw := authPost(t, e.base+"/mcp/up", tok, body)
	if i := strings.Index(raw, "data: "); strings.HasPrefix(raw, "event:") && i >= 0 {
		raw, _, _ = strings.Cut(raw[i+len("data: "):], "\n")
	}
	var r rpcReply
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("reply %d %q: %v", status, raw, err)
	}
	return status, r
}

// followConsent plays the user in a browser: open the consent URL,
// confirm, consent at the upstream's authorization server as upstreamUser,
// land on the gateway's callback.
func followConsent(t *testing.T, link, upstreamUser string) string {
	t.Helper()
	status, page := followConsentAs(t, link, "", upstreamUser)
	if status != 200 || !strings.Contains(page, "Access granted") {
		t.Fatalf("callback: %d %s", status, page)
	}
	return page
}

// followConsentAs is followConsent by a person who signs in to the gateway
// as login (when the consent asks for a sign-in); it returns the last page.
func followConsentAs(t *testing.T, link, login, upstreamUser string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Test-User", upstreamUser)
		r.Header.Set("X-Test-Login", login)
		return http.DefaultTransport.RoundTrip(r)
	})}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<form method="post"`) {
		t.Fatalf("consent page: %d %s", resp.StatusCode, page)
	}
	u, _ := url.Parse(link)
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+u.Path, url.Values{"id": {u.Query().Get("id")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestAuthzUserDelegatedUpstream: a caller's first call to a user_delegated
// server answers -32042 with a URL elicitation for the gateway's consent
// page; the user follows it, consents at the upstream's authorization
// server, and the retried call reaches the upstream with the user's own
// upstream token (never the caller's gateway token). A second caller gets
// its own consent request, not the first caller's token. Run with the
// memory store, with the Redis store, and with the upstream's endpoints
// discovered from its metadata instead of configured.
func TestAuthzUserDelegatedUpstream(t *testing.T) {
	for _, store := range []string{"memory", "redis", "discovered-endpoints"} {
		t.Run(store, func(t *testing.T) {
			state := ""
			var srv *redistest.Server
			if store == "redis" {
				srv = redistest.Start(t, nil)
				state = "state: {redis: {address: " + srv.Addr + "}, vault: {store: memory}}"
			}
			e := startDelegatedEnvWith(t, delegatedOpts{state: state, discover: store == "discovered-endpoints"})
			alice, bob := e.callerToken("alice"), e.callerToken("bob")

			status, r := e.call(t, alice, initBody)
			if status != 200 || r.Error == nil || r.Error.Code != -32042 || len(r.Error.Data.Elicitations) != 1 {
				t.Fatalf("first call: %d %+v", status, r)
			}
			el := r.Error.Data.Elicitations[0]
			if el.Mode != "url" || !strings.HasPrefix(el.URL, e.base+"/oauth/upstream/consent?id=") || !strings.Contains(r.Error.Message, el.URL) {
				t.Fatalf("elicitation %+v, message %q", el, r.Error.Message)
			}
			if n := len(e.seen.all()); n != 0 { // MCP requests; discovery reads its metadata
				t.Fatalf("the upstream was called %d times before consent", n)
			}
			followConsent(t, el.URL, "alice@upstream")

			status, r = e.call(t, alice, initBody)
			if status != 200 || r.Error != nil || !strings.Contains(string(r.Result), `"protocolVersion"`) {
				t.Fatalf("retry after consent: %d %+v %s", status, r.Error, r.Result)
			}
			seen := e.seen.all()
			if len(seen) != 1 {
				t.Fatalf("upstream saw %q", seen)
			}
			upTok, ok := strings.CutPrefix(strings.Split(seen[0], "|")[0], "Bearer ")
			if !ok || upTok == alice || strings.Contains(seen[0], alice) {
				t.Fatalf("upstream got %q: not a delegated token, or the caller's", seen[0])
			}
			if sub := claimOf(t, upTok, "sub"); sub != "alice@upstream" {
				t.Fatalf("delegated token sub %q", sub)
			}
			if iss := claimOf(t, upTok, "iss"); iss != e.upAS.URL {
				t.Fatalf("delegated token iss %q", iss)
			}

			// Bob does not get alice's grant: his own consent request, and
			// the upstream is not called.
			status, r = e.call(t, bob, initBody)
			if status != 200 || r.Error == nil || r.Error.Code != -32042 || len(r.Error.Data.Elicitations) != 1 || r.Error.Data.Elicitations[0].URL == el.URL {
				t.Fatalf("bob: %d %+v", status, r)
			}
			if len(e.seen.all()) != 1 {
				t.Fatal("bob's call reached the upstream")
			}
			// A GET (SSE stream) without a grant gets the same consent
			// request, as 403, and nothing reaches the upstream.
			req, _ := http.NewRequest(http.MethodGet, e.base+"/mcp/up", nil)
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Authorization", "Bearer "+bob)
			gresp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			gbody, _ := io.ReadAll(gresp.Body)
			gresp.Body.Close()
			if gresp.StatusCode != 403 || !strings.Contains(string(gbody), `"code":-32042`) || !strings.Contains(string(gbody), `"mode":"url"`) {
				t.Fatalf("GET without a grant: %d %s", gresp.StatusCode, gbody)
			}
			if len(e.seen.all()) != 1 {
				t.Fatal("bob's GET reached the upstream")
			}
			// A consent link is used once.
			resp, err := http.Get(el.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("used consent link: %d", resp.StatusCode)
			}
			// Bob consents as his own upstream user and gets his own token.
			followConsent(t, r.Error.Data.Elicitations[0].URL, "bob@upstream")
			if status, r = e.call(t, bob, initBody); status != 200 || r.Error != nil {
				t.Fatalf("bob after consent: %d %+v", status, r.Error)
			}
			seen = e.seen.all()
			bobTok, _ := strings.CutPrefix(strings.Split(seen[len(seen)-1], "|")[0], "Bearer ")
			if sub := claimOf(t, bobTok, "sub"); sub != "bob@upstream" || bobTok == upTok {
				t.Fatalf("bob's upstream token sub %q (same as alice's: %v)", sub, bobTok == upTok)
			}
			if srv != nil {
				if keys := srv.Client().Keys(context.Background(), "portcullis:deleg:grant:*").Val(); len(keys) != 2 {
					t.Fatalf("Redis holds grants %q, want alice's and bob's", keys)
				}
			}
		})
	}
}

// post2026 sends one 2026-07-28 request (no session; revision, method and
// name in headers) with the caller's gateway token; SSE framing removed.
func (e *delegatedEnv) post2026(t *testing.T, tok, method, name, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/mcp/up", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", method)
	if name != "" {
		req.Header.Set("Mcp-Name", name)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if i := bytes.Index(b, []byte("data: ")); i >= 0 {
		b = bytes.TrimSpace(b[i+6:])
	}
	return resp.StatusCode, b
}

func req2026(id int, method, params, caps string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":{%s"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",`+
		`"io.modelcontextprotocol/clientCapabilities":%s,"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"0"}}}}`, id, method, params, caps)
}

// TestAuthzUserDelegated2026InputRequired: a 2026-07-28 tools/call from a
// client that declared URL elicitation gets the consent request as an
// InputRequiredResult (URL-mode elicitation/create); other requests,
// clients without URL elicitation and a declined answer get the -32042
// error. After consent, the retry carrying the client's answer reaches the
// upstream with the user's own token and without that answer (the
// upstream never asked for it); other input responses pass unchanged.
func TestAuthzUserDelegated2026InputRequired(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"resultType":"complete","content":[{"type":"text","text":"fetched"}]}}`, gjson.GetBytes(b, "id").Raw)
	})
	e := startDelegatedEnvWith(t, delegatedOpts{h: h})
	alice := e.callerToken("alice")
	urlCaps := `{"elicitation":{"url":{}}}`
	call := `"name":"fetch","arguments":{"url":"https://example.com"},`

	status, b := e.post2026(t, alice, "tools/call", "fetch", req2026(7, "tools/call", call, urlCaps))
	res := gjson.GetBytes(b, "result")
	in := res.Get("inputRequests.portcullis_consent")
	link := in.Get("params.url").Str
	if status != 200 || gjson.GetBytes(b, "id").Raw != "7" || res.Get("resultType").Str != "input_required" || in.Get("method").Str != "elicitation/create" ||
		in.Get("params.mode").Str != "url" || !strings.HasPrefix(link, e.base+"/oauth/upstream/consent?id=") || in.Get("params.elicitationId").Str == "" {
		t.Fatalf("first call: %d %s", status, b)
	}

	for _, tc := range []struct{ name, method, mcpName, body string }{
		{"no URL elicitation", "tools/call", "fetch", req2026(8, "tools/call", call, `{"elicitation":{}}`)},
		{"a method without InputRequiredResult", "tools/list", "", req2026(9, "tools/list", "", urlCaps)},
		{"declined", "tools/call", "fetch", req2026(10, "tools/call", call+`"inputResponses":{"portcullis_consent":{"action":"decline"}},`, urlCaps)},
	} {
		status, b := e.post2026(t, alice, tc.method, tc.mcpName, tc.body)
		if status != 200 || gjson.GetBytes(b, "error.code").Int() != -32042 || gjson.GetBytes(b, "error.data.elicitations.0.url").Str != link {
			t.Errorf("%s: %d %s", tc.name, status, b)
		}
	}
	if n := e.up.hits.Load(); n != 0 {
		t.Fatalf("the upstream was called %d times before consent", n)
	}

	followConsent(t, link, "alice@upstream")
	retry := req2026(11, "tools/call", call+`"inputResponses":{"portcullis_consent":{"action":"accept"},"other":{"action":"accept","content":{"x":1}}},`, urlCaps)
	status, b = e.post2026(t, alice, "tools/call", "fetch", retry)
	if status != 200 || gjson.GetBytes(b, "result.content.0.text").Str != "fetched" {
		t.Fatalf("retry after consent: %d %s", status, b)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("upstream received %d requests", len(bodies))
	}
	got := gjson.Parse(bodies[0])
	if got.Get("params.inputResponses.portcullis_consent").Exists() || got.Get("params.inputResponses.other.content.x").Int() != 1 ||
		got.Get("params.name").Str != "fetch" || got.Get("params.arguments.url").Str != "https://example.com" {
		t.Fatalf("upstream body %s", bodies[0])
	}
	seen := e.seen.all()
	upTok, ok := strings.CutPrefix(strings.Split(seen[len(seen)-1], "|")[0], "Bearer ")
	if !ok || upTok == alice || claimOf(t, upTok, "sub") != "alice@upstream" {
		t.Fatalf("upstream credential %q", seen[len(seen)-1])
	}
}

// TestAuthzUserDelegatedConsentLogin: with identity.upstream_oauth.login,
// a consent link is bound to the principal whose call asked for it: a
// person who signs in to the gateway as someone else is refused (nothing
// granted, the link used up); the principal signing in as themselves
// grants access, and the retried call reaches the upstream with their
// own upstream token.
func TestAuthzUserDelegatedConsentLogin(t *testing.T) {
	e := startDelegatedEnvWith(t, delegatedOpts{login: true})
	alice := e.callerToken("alice")
	link := func() string {
		t.Helper()
		status, r := e.call(t, alice, initBody)
		if status != 200 || r.Error == nil || r.Error.Code != -32042 || len(r.Error.Data.Elicitations) != 1 {
			t.Fatalf("consent request: %d %+v", status, r)
		}
		return r.Error.Data.Elicitations[0].URL
	}
	first := link()
	if status, page := followConsentAs(t, first, "mallory", "mallory@upstream"); status != 403 || !strings.Contains(page, "Consent refused") {
		t.Fatalf("mallory on alice's link: %d %s", status, page)
	}
	if status, r := e.call(t, alice, initBody); status != 200 || r.Error == nil || r.Error.Code != -32042 || r.Error.Data.Elicitations[0].URL == first {
		t.Fatalf("after the refused sign-in: %d %+v (a grant was stored, or the used link came back)", status, r)
	}
	if len(e.seen.all()) != 0 {
		t.Fatal("the upstream was called before consent")
	}
	second := link()
	if status, page := followConsentAs(t, second, "alice", "alice@upstream"); status != 200 || !strings.Contains(page, "Access granted") {
		t.Fatalf("alice on her link: %d %s", status, page)
	}
	if status, r := e.call(t, alice, initBody); status != 200 || r.Error != nil {
		t.Fatalf("retry after consent: %d %+v", status, r.Error)
	}
	seen := e.seen.all()
	upTok, _ := strings.CutPrefix(strings.Split(seen[len(seen)-1], "|")[0], "Bearer ")
	if sub := claimOf(t, upTok, "sub"); sub != "alice@upstream" {
		t.Fatalf("delegated token sub %q", sub)
	}
}
