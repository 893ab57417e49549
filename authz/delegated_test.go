package authz_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/authztest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recordingStore wraps a store and keeps every value written.
type recordingStore struct {
	authz.TokenStore
	mu     sync.Mutex
	keys   []string
	values [][]byte
}

func (s *recordingStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	s.mu.Lock()
	s.keys, s.values = append(s.keys, key), append(s.values, append([]byte(nil), val...))
	s.mu.Unlock()
	return s.TokenStore.Set(ctx, key, val, ttl)
}

// userAgent is the person at the browser: it keeps cookies, follows
// redirects and tells the test authorization server who consents.
func userAgent(t *testing.T, user string) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Test-User", user)
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// consent plays the user: open the consent page, confirm, consent at the
// authorization server, land on the callback. It returns the last page.
func consent(t *testing.T, c *http.Client, link string) (int, string) {
	t.Helper()
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, string(page)
	}
	u, _ := url.Parse(link)
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+authz.ConsentPath, url.Values{"id": {u.Query().Get("id")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func jwtClaim(t *testing.T, tok, name string) any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c[name]
}

type delegEnv struct {
	as    *authztest.Server
	d     *authz.Delegation
	clk   *clock
	store *recordingStore
	gw    *httptest.Server
	cfg   authz.UpstreamConfig
}

func newDelegEnv(t *testing.T) *delegEnv { return newDelegEnvWith(t, nil) }

// newDelegEnvWith is newDelegEnv with opt applied to the delegation's options.
func newDelegEnvWith(t *testing.T, opt func(*authz.DelegationOptions)) *delegEnv {
	t.Helper()
	e := &delegEnv{clk: &clock{t: time.Now()}}
	e.as = authztest.New(t, authztest.Options{TokenTTL: 10 * time.Minute, Now: e.clk.now,
		User: func(r *http.Request) string { return r.Header.Get("X-Test-User") }})
	var h http.Handler = http.NotFoundHandler()
	e.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.gw.Close)
	t.Setenv("UP_CLIENT_SECRET", "up-secret")
	e.cfg = authz.UpstreamConfig{Kind: authz.UpstreamDelegated, AuthorizationURL: e.as.AuthorizeURL(), TokenURL: e.as.TokenURL(),
		ClientID: "portcullis-up", ClientSecretEnv: "UP_CLIENT_SECRET", Scopes: []string{"repo"}, Resource: "https://up.example/mcp"}
	if err := authz.ValidateUpstream(e.cfg); err != nil {
		t.Fatal(err)
	}
	e.store = &recordingStore{TokenStore: authz.NewMemoryStore(100).WithClock(e.clk.now)}
	o := authz.DelegationOptions{BaseURL: e.gw.URL, Key: bytes.Repeat([]byte{7}, 32), Store: e.store, Now: e.clk.now,
		Lookup: func(server string) (authz.UpstreamConfig, bool) { return e.cfg, server == "up" }}
	if opt != nil {
		opt(&o)
	}
	d, err := authz.NewDelegation(o)
	if err != nil {
		t.Fatal(err)
	}
	e.d, h = d, d.Handler()
	e.as.AddClient(authztest.Client{ID: "portcullis-up", Secret: "up-secret", RedirectURIs: []string{d.RedirectURL()}})
	return e
}

// grantFor runs principal's consent to the end, signed in upstream as
// upstreamUser, and returns the delegated token the gateway then holds.
func (e *delegEnv) grantFor(t *testing.T, principal, upstreamUser string) string {
	t.Helper()
	ce := e.needConsent(t, principal)
	if status, page := consent(t, userAgent(t, upstreamUser), ce.URL); status != 200 || !strings.Contains(page, "Access granted") {
		t.Fatalf("consent: %d %s", status, page)
	}
	tok, err := e.d.Token(context.Background(), "up", e.cfg, principal)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *delegEnv) needConsent(t *testing.T, principal string) *authz.ConsentRequiredError {
	t.Helper()
	tok, err := e.d.Token(context.Background(), "up", e.cfg, principal)
	var ce *authz.ConsentRequiredError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: got a token %v, err %v; want consent required", principal, tok != "", err)
	}
	if !strings.HasPrefix(ce.URL, e.gw.URL+authz.ConsentPath+"?id=") || ce.ID == "" {
		t.Fatalf("consent URL %q", ce.URL)
	}
	return ce
}

func TestDelegationConsentRefreshAndIsolation(t *testing.T) {
	e := newDelegEnv(t)
	ctx := context.Background()

	tok := e.grantFor(t, "alice", "alice@upstream")
	if sub := jwtClaim(t, tok, "sub"); sub != "alice@upstream" {
		t.Fatalf("delegated token sub %v", sub)
	}
	if aud := jwtClaim(t, tok, "aud"); aud != "https://up.example/mcp" {
		t.Fatalf("delegated token aud %v (resource not sent)", aud)
	}
	// The same token while valid, no new token request.
	n := len(e.as.Requests())
	if again, err := e.d.Token(ctx, "up", e.cfg, "alice"); err != nil || again != tok || len(e.as.Requests()) != n {
		t.Fatalf("second call: err %v, same %v, requests %d→%d", err, again == tok, n, len(e.as.Requests()))
	}

	// Another principal does not get alice's grant.
	e.needConsent(t, "bob")
	// Nor does alice's grant serve another server.
	if _, err := e.d.Token(ctx, "other", e.cfg, "alice"); !errors.As(err, new(*authz.ConsentRequiredError)) {
		t.Fatalf("another server: %v", err)
	}

	// Expired: refreshed with the stored refresh token.
	e.clk.add(11 * time.Minute)
	fresh, err := e.d.Token(ctx, "up", e.cfg, "alice")
	if err != nil || fresh == tok {
		t.Fatalf("refresh: err %v, new token %v", err, fresh != tok)
	}
	reqs := e.as.Requests()
	if last := reqs[len(reqs)-1]; last.GrantType != "refresh_token" || last.ClientID != "portcullis-up" {
		t.Fatalf("last token request %+v", last)
	}
	// Refresh token revoked: back to consent.
	e.as.RevokeRefreshTokens()
	e.clk.add(11 * time.Minute)
	e.needConsent(t, "alice")

	// Nothing stored is readable: no token, no principal, no server name.
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	for i, v := range e.store.values {
		for _, secret := range []string{tok, fresh, "alice", `"up"`, `"a":`} {
			if bytes.Contains(v, []byte(secret)) || strings.Contains(e.store.keys[i], secret) {
				t.Fatalf("store entry %s holds %q in clear", e.store.keys[i], secret)
			}
		}
	}
}

func TestDelegationConsentLinkRules(t *testing.T) {
	e := newDelegEnv(t)
	ce := e.needConsent(t, "alice")

	// A callback from a browser that did not confirm the consent page is
	// refused and does not burn the link.
	resp, err := http.Get(e.gw.URL + authz.CallbackPath + "?state=" + ce.ID + "&code=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("callback without the browser binding: %d", resp.StatusCode)
	}
	// The consent page names who asks for what, escaped.
	resp, err = http.Get(ce.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "&#34;alice&#34;") || !strings.Contains(string(page), "&#34;up&#34;") {
		t.Fatalf("consent page %d %s", resp.StatusCode, page)
	}
	// A cross-site form cannot confirm for the user.
	for _, h := range [][2]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		req, _ := http.NewRequest(http.MethodPost, e.gw.URL+authz.ConsentPath, strings.NewReader(url.Values{"id": {ce.ID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(h[0], h[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
			t.Fatalf("%s: %s → %d", h[0], h[1], resp.StatusCode)
		}
	}
	ua := userAgent(t, "alice@upstream")
	if status, page := consent(t, ua, ce.URL); status != 200 || !strings.Contains(page, "Access granted") {
		t.Fatalf("consent: %d %s", status, page)
	}
	// Used once only.
	if status, _ := consent(t, ua, ce.URL); status != 404 {
		t.Fatalf("reused link: %d", status)
	}
	// Unknown ids and methods.
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", authz.ConsentPath + "?id=nope", 404},
		{"PUT", authz.ConsentPath, 405},
		{"GET", "/oauth/upstream/other", 404},
	} {
		req, _ := http.NewRequest(tc.method, e.gw.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
	// A consent denied at the authorization server stores nothing.
	ce = e.needConsent(t, "carol")
	e.cfg.Scopes = nil
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), e.as.AuthorizeURL()) {
			// The user declines: the AS redirects back with an error.
			q := req.URL.Query()
			req.URL, _ = url.Parse(q.Get("redirect_uri") + "?error=access_denied&state=" + q.Get("state"))
		}
		return nil
	}}
	if status, page := consent(t, c, ce.URL); status != 200 || !strings.Contains(page, "Access not granted") {
		t.Fatalf("declined consent: %d %s", status, page)
	}
	e.needConsent(t, "carol")
}

func TestDelegationGrantBoundToKeyAndClient(t *testing.T) {
	e := newDelegEnv(t)
	e.grantFor(t, "alice", "alice@upstream")
	ctx := context.Background()
	// Another gateway key cannot open the grants (same store).
	other, err := authz.NewDelegation(authz.DelegationOptions{BaseURL: e.gw.URL, Key: bytes.Repeat([]byte{8}, 32), Store: e.store, Now: e.clk.now,
		Lookup: func(string) (authz.UpstreamConfig, bool) { return e.cfg, true }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Token(ctx, "up", e.cfg, "alice"); !errors.As(err, new(*authz.ConsentRequiredError)) {
		t.Fatalf("another key: %v", err)
	}
	// A changed upstream client asks for consent again.
	cfg := e.cfg
	cfg.ClientID = "another-client"
	if _, err := e.d.Token(ctx, "up", cfg, "alice"); !errors.As(err, new(*authz.ConsentRequiredError)) {
		t.Fatalf("another client: %v", err)
	}
	// No principal: refused, never a shared grant.
	if _, err := e.d.Token(ctx, "up", e.cfg, ""); err == nil || errors.As(err, new(*authz.ConsentRequiredError)) {
		t.Fatalf("anonymous: %v", err)
	}
}

func TestNewDelegationChecksOptions(t *testing.T) {
	lookup := func(string) (authz.UpstreamConfig, bool) { return authz.UpstreamConfig{}, false }
	for _, tc := range []struct {
		name string
		o    authz.DelegationOptions
		want string
	}{
		{"short key", authz.DelegationOptions{BaseURL: "https://gw", Key: []byte("x"), Lookup: lookup}, "32 bytes"},
		{"path in base", authz.DelegationOptions{BaseURL: "https://gw/x", Key: make([]byte, 32), Lookup: lookup}, "without a path"},
		{"no lookup", authz.DelegationOptions{BaseURL: "https://gw", Key: make([]byte, 32)}, "lookup"},
	} {
		if _, err := authz.NewDelegation(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// An agent retrying before the user consented gets the same link while it
// has at least half its life left, then a new one.
func TestDelegationRetriesReuseTheConsentLink(t *testing.T) {
	e := newDelegEnv(t)
	first := e.needConsent(t, "alice")
	for i := 0; i < 5; i++ {
		if again := e.needConsent(t, "alice"); again.URL != first.URL {
			t.Fatalf("retry %d got a new link", i)
		}
	}
	if other := e.needConsent(t, "bob"); other.URL == first.URL {
		t.Fatal("bob got alice's consent link")
	}
	e.clk.add(6 * time.Minute) // past half of the 10-minute consent TTL
	if later := e.needConsent(t, "alice"); later.URL == first.URL {
		t.Fatal("a link with less than half its life left was handed out again")
	}
}

func TestMemoryStoreBoundAndExpiry(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := authz.NewMemoryStore(2).WithClock(clk.now)
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if err := s.Set(ctx, k, []byte(k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Set(ctx, "c", []byte("c"), time.Minute); !errors.Is(err, authz.ErrStoreFull) {
		t.Fatalf("third entry: %v, want ErrStoreFull (a grant is never evicted)", err)
	}
	if err := s.Set(ctx, "a", []byte("a2"), time.Minute); err != nil {
		t.Fatalf("overwrite when full: %v", err)
	}
	clk.add(2 * time.Minute)
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Fatal("expired entry returned")
	}
	if err := s.Set(ctx, "c", []byte("c"), time.Minute); err != nil {
		t.Fatalf("expired entries are dropped when full: %v", err)
	}
}

// TestDelegationDiscoversEndpoints: a user_delegated upstream without
// authorization_url and token_url has them discovered from its
// protected-resource metadata and its authorization server's metadata (the
// resource defaulting to the upstream's); the consent and the token go
// there. An upstream whose metadata names another resource, or that has
// none, is refused with a reason, and a failure is retried only after a
// pause.
func TestDelegationDiscoversEndpoints(t *testing.T) {
	e := newDelegEnv(t)
	var mu sync.Mutex
	resource, fetches := "", 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		if r.URL.Path != "/.well-known/oauth-protected-resource/mcp" || resource == "none" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": strings.ReplaceAll(resource, "HOST", r.Host), "authorization_servers": []string{e.as.URL}})
	}))
	defer up.Close()
	set := func(r string) { mu.Lock(); resource = r; mu.Unlock() }
	e.cfg = authz.UpstreamConfig{Kind: authz.UpstreamDelegated, ClientID: "portcullis-up", ClientSecretEnv: "UP_CLIENT_SECRET",
		Scopes: []string{"repo"}, UpstreamURL: up.URL + "/mcp"}
	if err := authz.ValidateUpstream(e.cfg); err != nil {
		t.Fatalf("endpoints left to discovery refused: %v", err)
	}
	ctx := context.Background()

	set("https://evil.example/mcp")
	if _, err := e.d.Token(ctx, "up", e.cfg, "alice"); !errors.Is(err, authz.ErrResourceMismatch) {
		t.Fatalf("mismatching metadata: %v", err)
	}
	// The failure is remembered for a few seconds, then discovery runs again.
	set("http://HOST/mcp")
	mu.Lock()
	before := fetches
	mu.Unlock()
	if _, err := e.d.Token(ctx, "up", e.cfg, "alice"); !errors.Is(err, authz.ErrResourceMismatch) {
		t.Fatalf("failure not kept: %v", err)
	}
	mu.Lock()
	if fetches != before {
		t.Fatalf("discovery repeated at once (%d -> %d fetches)", before, fetches)
	}
	mu.Unlock()
	e.clk.add(6 * time.Second)

	tok := e.grantFor(t, "alice", "alice@upstream")
	if aud := jwtClaim(t, tok, "aud"); aud != up.URL+"/mcp" {
		t.Fatalf("delegated token aud %v, want the discovered resource %s", aud, up.URL+"/mcp")
	}
	reqs := e.as.Requests()
	if last := reqs[len(reqs)-1]; last.GrantType != "authorization_code" || last.ClientID != "portcullis-up" {
		t.Fatalf("token request %+v", last)
	}

	// Only one of the two endpoints configured is a configuration error.
	half := e.cfg
	half.TokenURL = e.as.TokenURL()
	if err := authz.ValidateUpstream(half); err == nil || !strings.Contains(err.Error(), "authorization_url") {
		t.Fatalf("half-configured endpoints: %v", err)
	}
	// No metadata at all: refused with the reason.
	e2 := newDelegEnv(t)
	set("none")
	e2.cfg = e.cfg
	if _, err := e2.d.Token(ctx, "up", e2.cfg, "bob"); err == nil || !strings.Contains(err.Error(), "protected-resource metadata") {
		t.Fatalf("no metadata: %v", err)
	}
}

// TestDelegationLoginBindsConsent: with ConsentLogin, the person at the
// browser signs in at the gateway's own authorization server before the
// upstream's; only the principal the consent was created for gets a grant.
// Someone else signing in is refused and the link stops working; the
// upstream callback is refused without the sign-in.
func TestDelegationLoginBindsConsent(t *testing.T) {
	gwAS := authztest.New(t, authztest.Options{User: func(r *http.Request) string { return r.Header.Get("X-Test-Login") }})
	rs := newRS(t, gwAS, nil)
	t.Setenv("LOGIN_SECRET", "login-secret")
	e := newDelegEnvWith(t, func(o *authz.DelegationOptions) {
		o.Login = &authz.ConsentLogin{Issuer: gwAS.URL, ClientID: "portcullis-login", ClientSecretEnv: "LOGIN_SECRET", Resource: gw, Verify: rs.VerifyLogin}
	})
	gwAS.AddClient(authztest.Client{ID: "portcullis-login", Secret: "login-secret", RedirectURIs: []string{e.d.LoginRedirectURL()}})
	browser := func(login, upstream string) *http.Client {
		c := userAgent(t, upstream)
		inner := c.Transport
		c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.Header.Set("X-Test-Login", login)
			return inner.RoundTrip(r)
		})
		return c
	}
	ctx := context.Background()

	// Mallory opens alice's link and signs in as herself: refused.
	ce := e.needConsent(t, "alice")
	status, page := consent(t, browser("mallory", "mallory@upstream"), ce.URL)
	if status != 403 || !strings.Contains(page, "you signed in as &#34;mallory&#34;") {
		t.Fatalf("another person's sign-in: %d %s", status, page)
	}
	if _, err := e.d.Token(ctx, "up", e.cfg, "alice"); !errors.As(err, new(*authz.ConsentRequiredError)) {
		t.Fatalf("a grant was stored for alice: %v", err)
	}
	if status, _ := consent(t, browser("alice", "alice@upstream"), ce.URL); status != 404 {
		t.Fatalf("the refused link still works: %d", status)
	}
	for _, r := range e.as.Requests() {
		if r.GrantType == "authorization_code" {
			t.Fatalf("the upstream issued a code grant after a refused sign-in: %+v", r)
		}
	}

	// Alice signs in as herself: the consent goes on upstream and her grant is stored.
	ce = e.needConsent(t, "alice")
	if status, page := consent(t, browser("alice", "alice@upstream"), ce.URL); status != 200 || !strings.Contains(page, "Access granted") {
		t.Fatalf("alice's consent: %d %s", status, page)
	}
	tok, err := e.d.Token(ctx, "up", e.cfg, "alice")
	if err != nil || jwtClaim(t, tok, "sub") != "alice@upstream" {
		t.Fatalf("alice's grant: %v", err)
	}

	// The upstream callback without the sign-in (a browser that confirmed
	// and went straight to the upstream) is refused before the consent is used.
	ce = e.needConsent(t, "bob")
	c := browser("bob", "bob@upstream")
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u, _ := url.Parse(ce.URL)
	resp, err := c.PostForm(u.Scheme+"://"+u.Host+authz.ConsentPath, url.Values{"id": {ce.ID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if to := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(to, gwAS.AuthorizeURL()) {
		t.Fatalf("confirm did not send the browser to the gateway's sign-in: %d %q", resp.StatusCode, to)
	}
	resp, err = c.Get(e.gw.URL + authz.CallbackPath + "?state=" + ce.ID + "&code=forged")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "Not signed in") {
		t.Fatalf("callback without sign-in: %d %s", resp.StatusCode, b)
	}
}
