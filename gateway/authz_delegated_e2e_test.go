package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

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
	t.Helper()
	e := &delegatedEnv{seen: &authHeaders{}}
	e.gwAS = authztest.New(t, authztest.Options{Scopes: []string{"mcp"}})
	// The person at the browser says who they are at the upstream.
	e.upAS = authztest.New(t, authztest.Options{Scopes: []string{"up"}, User: func(r *http.Request) string { return r.Header.Get("X-Test-User") }})
	e.up = protectedUpstream(t, e.upAS, webmcp.Handler(), e.seen)
	addr := freeAddr(t)
	e.base = "http://" + addr
	e.upAS.AddClient(authztest.Client{ID: "portcullis-delegated", Secret: "deleg-secret", RedirectURIs: []string{e.base + "/oauth/upstream/callback"}})
	t.Setenv("PORTCULLIS_UP_CLIENT_SECRET", "deleg-secret")
	t.Setenv("PORTCULLIS_DELEGATION_KEY", strings.Repeat("5a", 32))
	yaml := fmt.Sprintf(`
audit: {dir: %s}
listen: {proxy: %s, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - name: up
    url: %s/mcp
    tools: {allow: ["*"]}
    upstream_auth:
      type: user_delegated
      authorization_url: %s
      token_url: %s
      client_id: portcullis-delegated
      client_secret_env: PORTCULLIS_UP_CLIENT_SECRET
      scopes: [up]
      resource: %s/mcp
identity:
  oauth:
    resource: %s
    authorization_servers: [%s]
    jwks_url: %s
    scopes: [mcp]
  upstream_oauth: {key_env: PORTCULLIS_DELEGATION_KEY}
%s
`, t.TempDir(), addr, e.up.srv.URL, e.upAS.AuthorizeURL(), e.upAS.TokenURL(), e.up.srv.URL, e.base, e.gwAS.URL, e.gwAS.JWKSURL(), state)
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
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Test-User", upstreamUser)
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
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Access granted") {
		t.Fatalf("callback: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestAuthzUserDelegatedUpstream: a caller's first call to a user_delegated
// server answers -32042 with a URL elicitation for the gateway's consent
// page; the user follows it, consents at the upstream's authorization
// server, and the retried call reaches the upstream with the user's own
// upstream token (never the caller's gateway token). A second caller gets
// its own consent request, not the first caller's token. Run with the
// memory store and with the Redis store.
func TestAuthzUserDelegatedUpstream(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			state := ""
			var srv *redistest.Server
			if store == "redis" {
				srv = redistest.Start(t, nil)
				state = "state: {redis: {address: " + srv.Addr + "}, vault: {store: memory}}"
			}
			e := startDelegatedEnv(t, state)
			alice, bob := e.callerToken("alice"), e.callerToken("bob")

			status, r := e.call(t, alice, initBody)
			if status != 200 || r.Error == nil || r.Error.Code != -32042 || len(r.Error.Data.Elicitations) != 1 {
				t.Fatalf("first call: %d %+v", status, r)
			}
			el := r.Error.Data.Elicitations[0]
			if el.Mode != "url" || !strings.HasPrefix(el.URL, e.base+"/oauth/upstream/consent?id=") || !strings.Contains(r.Error.Message, el.URL) {
				t.Fatalf("elicitation %+v, message %q", el, r.Error.Message)
			}
			if n := e.up.hits.Load(); n != 0 {
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
