package authz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/authztest"
)

const gw = "https://gw.example"

func newRS(t *testing.T, as *authztest.Server, mut func(*authz.Config)) *authz.ResourceServer {
	t.Helper()
	cfg := authz.Config{Resource: gw, AuthorizationServers: []string{as.URL}, JWKSURL: as.JWKSURL(),
		Scopes: []string{"mcp"}, ToolScopes: map[string]map[string][]string{"files": {"write_file": {"files:write"}}}}
	if mut != nil {
		mut(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rs, err := authz.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

var enc = base64.RawURLEncoding

// proof builds a DPoP proof signed by key.
func proof(t *testing.T, key *ecdsa.PrivateKey, htm, htu, tok string, iat time.Time, jti string) string {
	t.Helper()
	pub, _ := key.PublicKey.Bytes()
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(pub[1:33]), "y": enc.EncodeToString(pub[33:])}
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk})
	sum := sha256.Sum256([]byte(tok))
	p, _ := json.Marshal(map[string]any{"htm": htm, "htu": htu, "iat": iat.Unix(), "jti": jti, "ath": enc.EncodeToString(sum[:])})
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

func thumbprint(key *ecdsa.PrivateKey) string {
	pub, _ := key.PublicKey.Bytes()
	canon := `{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(pub[1:33]) + `","y":"` + enc.EncodeToString(pub[33:]) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return enc.EncodeToString(sum[:])
}

func TestAuthenticate(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	rs := newRS(t, as, nil)
	res := gw + "/mcp/files"
	mint := func(over map[string]any) string {
		c := as.Claims("alice", res, "mcp files:read")
		c["iss"] = as.URL
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return as.Mint(c)
	}
	dkey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bound := mint(map[string]any{"cnf": map[string]any{"jkt": thumbprint(dkey)}})
	now := time.Now()
	tests := []struct {
		name       string
		req        authz.Request
		wantStatus int    // 0: accepted
		wantCode   string // RFC 6750 error
		wantInDesc string
	}{
		{"valid bearer", authz.Request{Authorization: "Bearer " + mint(nil)}, 0, "", ""},
		{"lower-case scheme", authz.Request{Authorization: "bearer " + mint(nil)}, 0, "", ""},
		{"no token", authz.Request{}, 401, "", "requires an OAuth access token"},
		{"basic auth", authz.Request{Authorization: "Basic Zm9vOmJhcg=="}, 401, "invalid_request", "Bearer"},
		{"other audience", authz.Request{Authorization: "Bearer " + mint(map[string]any{"aud": "https://upstream.example/mcp"})}, 401, "invalid_token", "resource=" + res},
		{"audience of another server", authz.Request{Authorization: "Bearer " + mint(map[string]any{"aud": gw + "/mcp/web"})}, 401, "invalid_token", "audience"},
		{"base audience refused by default", authz.Request{Authorization: "Bearer " + mint(map[string]any{"aud": gw})}, 401, "invalid_token", "audience"},
		{"no audience", authz.Request{Authorization: "Bearer " + mint(map[string]any{"aud": nil})}, 401, "invalid_token", "audience"},
		{"expired", authz.Request{Authorization: "Bearer " + mint(map[string]any{"exp": now.Add(-time.Hour).Unix()})}, 401, "invalid_token", "expired"},
		{"wrong issuer", authz.Request{Authorization: "Bearer " + mint(map[string]any{"iss": "https://evil.example"})}, 401, "invalid_token", "not issued"},
		{"lacks scope", authz.Request{Authorization: "Bearer " + mint(map[string]any{"scope": "files:read"})}, 403, "insufficient_scope", "mcp"},
		{"opaque without introspection", authz.Request{Authorization: "Bearer opaque-abc"}, 401, "invalid_token", "introspection"},
		{"tampered", authz.Request{Authorization: "Bearer " + mint(nil)[:40] + "x" + mint(nil)[41:]}, 401, "invalid_token", ""},
		{"DPoP-bound token as bearer", authz.Request{Authorization: "Bearer " + bound}, 401, "invalid_token", "DPoP-bound"},
		{"DPoP valid", authz.Request{Method: "POST", Path: "/mcp/files?x=1", Authorization: "DPoP " + bound,
			DPoP: proof(t, dkey, "POST", res, bound, now, "j1")}, 0, "", ""},
		{"DPoP replayed jti", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + bound,
			DPoP: proof(t, dkey, "POST", res, bound, now, "j1")}, 401, "invalid_dpop_proof", "replay"},
		{"DPoP wrong htu", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + bound,
			DPoP: proof(t, dkey, "POST", "https://evil.example/mcp/files", bound, now, "j2")}, 401, "invalid_dpop_proof", "htu"},
		{"DPoP wrong method", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + bound,
			DPoP: proof(t, dkey, "GET", res, bound, now, "j3")}, 401, "invalid_dpop_proof", "htm"},
		{"DPoP old proof", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + bound,
			DPoP: proof(t, dkey, "POST", res, bound, now.Add(-time.Hour), "j4")}, 401, "invalid_dpop_proof", "iat"},
		{"DPoP proof for another token", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + bound,
			DPoP: proof(t, dkey, "POST", res, "other", now, "j5")}, 401, "invalid_dpop_proof", "ath"},
		{"DPoP proof by another key", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + bound,
			DPoP: proof(t, mustKey(t), "POST", res, bound, now, "j6")}, 401, "invalid_dpop_proof", "cnf.jkt"},
		{"DPoP without proof", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + bound}, 401, "invalid_dpop_proof", "required"},
		{"DPoP scheme with bearer token", authz.Request{Method: "POST", Path: "/mcp/files", Authorization: "DPoP " + mint(nil),
			DPoP: proof(t, dkey, "POST", res, mint(nil), now, "j7")}, 401, "invalid_token", "not DPoP-bound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Server = "files"
			p, err := rs.Authenticate(context.Background(), tt.req)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p.Subject != "alice" || p.Trust != "medium" || !slices.Contains(p.Scopes, "mcp") {
					t.Fatalf("principal %v", p)
				}
				return
			}
			var e *authz.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *authz.Error", err)
			}
			if e.Status != tt.wantStatus || e.Code != tt.wantCode || !strings.Contains(e.Desc, tt.wantInDesc) {
				t.Fatalf("got %d %q %q, want %d %q containing %q", e.Status, e.Code, e.Desc, tt.wantStatus, tt.wantCode, tt.wantInDesc)
			}
			ch := rs.Challenge("files", err).String()
			if !strings.Contains(ch, `resource_metadata="`+gw+`/.well-known/oauth-protected-resource/mcp/files"`) {
				t.Errorf("challenge lacks resource_metadata: %s", ch)
			}
			if tt.wantCode != "" && !strings.Contains(ch, `error="`+tt.wantCode+`"`) {
				t.Errorf("challenge lacks error: %s", ch)
			}
			if strings.Contains(ch, "eyJ") {
				t.Errorf("challenge leaks a token: %s", ch)
			}
		})
	}
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestChallengeString(t *testing.T) {
	tests := []struct {
		c    authz.Challenge
		want string
	}{
		{authz.Challenge{ResourceMetadata: "https://g/.well-known/oauth-protected-resource/mcp/x", Scope: []string{"a", "b"}},
			`Bearer scope="a b", resource_metadata="https://g/.well-known/oauth-protected-resource/mcp/x"`},
		{authz.Challenge{Error: "insufficient_scope", ErrorDescription: `needs "x"` + "\r\n", Scope: []string{"x"}},
			`Bearer error="insufficient_scope", error_description="needs 'x'??", scope="x"`},
		{authz.Challenge{Scheme: "DPoP", Error: "invalid_dpop_proof", Algs: []string{"ES256"}},
			`DPoP error="invalid_dpop_proof", algs="ES256"`},
		{authz.Challenge{}, `Bearer`},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func FuzzChallenge(f *testing.F) {
	f.Add("invalid_token", "the token \"x\" expired\r\nSet-Cookie: a=b", "scope")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, code, desc, scope string) {
		s := authz.Challenge{Error: code, ErrorDescription: desc, Scope: []string{scope}}.String()
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				t.Fatalf("unsafe byte %#x in %q", s[i], s)
			}
		}
		if strings.Count(s, `"`)%2 != 0 {
			t.Fatalf("unbalanced quotes in %q", s)
		}
	})
}

type routes map[string]bool

func (r routes) Route(n string) (string, bool, bool) { return "", false, r[n] }

func TestMetadataHandler(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	rs := newRS(t, as, func(c *authz.Config) { c.ServerScopes = map[string][]string{"files": {"files:read"}} })
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })
	h := authz.MetadataHandler(rs, routes{"files": true}, next)
	tests := []struct {
		path, method string
		status       int
		want         map[string]any
	}{
		{"/.well-known/oauth-protected-resource/mcp/files", "GET", 200, map[string]any{"resource": gw + "/mcp/files",
			"authorization_servers": []any{as.URL}, "scopes_supported": []any{"mcp", "files:read", "files:write"}}},
		{"/.well-known/oauth-protected-resource", "GET", 200, map[string]any{"resource": gw, "authorization_servers": []any{as.URL}}},
		{"/.well-known/oauth-protected-resource/mcp/nope", "GET", 404, map[string]any{"error": "not_found"}},
		{"/.well-known/oauth-protected-resource/mcp/files/x", "GET", 404, map[string]any{"error": "not_found"}},
		{"/.well-known/oauth-authorization-server", "GET", 404, map[string]any{"error": "not_found", "authorization_servers": []any{as.URL}}},
		{"/.well-known/openid-configuration", "GET", 404, map[string]any{"error": "not_found"}},
		{"/.well-known/oauth-protected-resource", "POST", 405, map[string]any{"error": "method_not_allowed"}},
		{"/mcp/files", "POST", 299, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.want == nil {
				return
			}
			if ct := w.Header().Get("content-type"); ct != "application/json" {
				t.Fatalf("content-type %q", ct)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				gb, _ := json.Marshal(got[k])
				wb, _ := json.Marshal(v)
				if string(gb) != string(wb) {
					t.Errorf("%s = %s, want %s", k, gb, wb)
				}
			}
		})
	}
}

// TestJWKSDownKeepsKeys: the JWKS endpoint failing after start must not
// lock callers out; the cached keys keep validating.
func TestJWKSDownKeepsKeys(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	var down atomic.Bool
	var hits atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		resp, err := http.Get(as.JWKSURL())
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("content-type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	rs := newRS(t, as, func(c *authz.Config) { c.JWKSURL = proxy.URL })
	down.Store(true)
	c := as.Claims("alice", gw+"/mcp/files", "mcp")
	c["iss"] = as.URL
	if _, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: "Bearer " + as.Mint(c)}); err != nil {
		t.Fatalf("cached keys refused a valid token: %v", err)
	}
	// An unknown kid while the endpoint is down is refused, not a hang.
	if _, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: "Bearer " + swapKid(as.Mint(c), "rotated")}); err == nil {
		t.Fatal("unknown kid accepted")
	}
	if hits.Load() > 2 {
		t.Fatalf("JWKS fetched %d times; an unknown kid must not refetch more than once per interval", hits.Load())
	}
}

func swapKid(tok, kid string) string {
	parts := strings.SplitN(tok, ".", 3)
	raw, _ := enc.DecodeString(parts[0])
	var h map[string]any
	_ = json.Unmarshal(raw, &h)
	h["kid"] = kid
	nb, _ := json.Marshal(h)
	return enc.EncodeToString(nb) + "." + parts[1] + "." + parts[2]
}

func TestIntrospection(t *testing.T) {
	as := authztest.New(t, authztest.Options{Opaque: true})
	as.AddClient(authztest.Client{ID: "gateway", Secret: "s3cret"})
	as.AddClient(authztest.Client{ID: "agent", Secret: "a"})
	rs := newRS(t, as, func(c *authz.Config) {
		c.JWKSURL = ""
		c.Introspection = &authz.IntrospectionConfig{URL: as.IntrospectionURL(), ClientID: "gateway", ClientSecret: "s3cret", CacheSize: 2}
	})
	get := func(resource, scope string) string {
		t.Helper()
		resp, err := http.PostForm(as.TokenURL(), map[string][]string{"grant_type": {"client_credentials"}, "client_id": {"agent"},
			"client_secret": {"a"}, "resource": {resource}, "scope": {scope}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tr)
		if !strings.HasPrefix(tr.AccessToken, "opaque-") {
			t.Fatalf("token %q", tr.AccessToken)
		}
		return tr.AccessToken
	}
	good := get(gw+"/mcp/files", "mcp")
	for range 3 {
		p, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: "Bearer " + good})
		if err != nil || p.Subject != "agent" || p.ClientID != "agent" {
			t.Fatalf("opaque token: %v %v", p, err)
		}
	}
	if _, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: "Bearer " + get("https://other.example", "mcp")}); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("other audience: %v", err)
	}
	if _, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: "Bearer opaque-unknown"}); err == nil || !strings.Contains(err.Error(), "not active") {
		t.Fatalf("unknown token: %v", err)
	}
	// Many distinct tokens: the cache stays bounded (CacheSize 2).
	for i := range 5 {
		_, _ = rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: "Bearer opaque-x" + string(rune('a'+i))})
	}
	if n := authz.IntrospectionCacheLen(rs); n > 2 {
		t.Fatalf("introspection cache holds %d entries, bound is 2", n)
	}
}

func TestCheckTool(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	rs := newRS(t, as, nil)
	c := as.Claims("alice", gw+"/mcp/files", "mcp")
	c["iss"] = as.URL
	p, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: "Bearer " + as.Mint(c)})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.CheckTool(p, "files", "read_file", nil); err != nil {
		t.Fatalf("read_file: %v", err)
	}
	err = rs.CheckTool(p, "files", "write_file", nil)
	var e *authz.Error
	if !errors.As(err, &e) || e.Status != 403 || e.Code != "insufficient_scope" || !slices.Equal(e.Scope, []string{"mcp", "files:write"}) {
		t.Fatalf("write_file: %+v", err)
	}
	if ch := rs.Challenge("files", err).String(); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="mcp files:write"`) {
		t.Fatalf("challenge %s", ch)
	}
}

func TestConfigValidate(t *testing.T) {
	c := authz.Config{Resource: "https://gw/path", AuthorizationServers: []string{"ftp://x"}, JWKSURL: "a", JWKSFile: "b",
		Algorithms: []string{"HS256"}, Scopes: []string{"bad scope"}, Introspection: &authz.IntrospectionConfig{}}
	err := c.Validate()
	for _, want := range []string{"resource:", "authorization_servers[0]", "jwks_url: set at most one", "algorithms[0]", "scopes:", "introspection.url", "introspection.client_id"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// TestVerifiedCacheRechecks: a token whose signature was verified once is
// still refused for another route and once it expires.
func TestVerifiedCacheRechecks(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	now := time.Now()
	clock := func() time.Time { return now }
	rs := newRS(t, as, func(c *authz.Config) { c.Now = clock })
	c := as.Claims("alice", gw+"/mcp/files", "mcp")
	c["iss"] = as.URL
	c["exp"] = now.Add(10 * time.Minute).Unix()
	tok := "Bearer " + as.Mint(c)
	for range 2 {
		if _, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: tok}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rs.Authenticate(context.Background(), authz.Request{Server: "web", Authorization: tok}); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("cached token accepted for another route: %v", err)
	}
	now = now.Add(20 * time.Minute)
	if _, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Authorization: tok}); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("cached token accepted after expiry: %v", err)
	}
}

// FuzzAuthenticate: hostile Authorization and DPoP values never panic,
// always yield an *authz.Error with a challenge status, and never echo the
// presented token.
func FuzzAuthenticate(f *testing.F) {
	as := authztest.New(f, authztest.Options{})
	c := as.Claims("alice", gw+"/mcp/files", "mcp")
	c["iss"] = as.URL
	valid := as.Mint(c)
	for _, s := range []struct{ authz, dpop string }{
		{"Bearer " + valid, ""}, {"DPoP " + valid, "a.b.c"}, {"Bearer a.b.c", ""}, {"Bearer eyJhbGciOiJub25lIn0.e30.", ""},
		{"Basic Zm9v", ""}, {"Bearer ", ""}, {"bearer\t" + valid, ""}, {"DPoP x", "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AA"},
	} {
		f.Add(s.authz, s.dpop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	rs, err := authz.New(ctx, authz.Config{Resource: gw, AuthorizationServers: []string{as.URL}, JWKSURL: as.JWKSURL(), Scopes: []string{"mcp"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, authorization, dpop string) {
		p, err := rs.Authenticate(context.Background(), authz.Request{Server: "files", Method: "POST", Path: "/mcp/files", Authorization: authorization, DPoP: dpop})
		if err == nil {
			if p == nil || p.Subject == "" {
				t.Fatalf("accepted without a subject: %q", authorization)
			}
			return
		}
		var e *authz.Error
		if !errors.As(err, &e) || (e.Status != 400 && e.Status != 401 && e.Status != 403) {
			t.Fatalf("error %T %v", err, err)
		}
		if _, tok, _ := strings.Cut(authorization, " "); len(tok) > 24 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error echoes the token: %v", err)
		}
		ch := rs.Challenge("files", err).String()
		for i := 0; i < len(ch); i++ {
			if ch[i] < 0x20 || ch[i] > 0x7e {
				t.Fatalf("unsafe challenge %q", ch)
			}
		}
	})
}

func TestRewriteUpstreamChallenge(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	rs := newRS(t, as, nil)
	meta := gw + "/.well-known/oauth-protected-resource/mcp/up"
	tests := []struct{ in, want string }{
		{`Bearer resource_metadata="http://up.internal/.well-known/oauth-protected-resource/mcp", scope="a b"`,
			`Bearer resource_metadata="` + meta + `", scope="a b"`},
		{`Bearer error="invalid_token", Resource_Metadata="http://up/x"`, `Bearer error="invalid_token", resource_metadata="` + meta + `"`},
		{`Bearer realm="up"`, `Bearer realm="up", resource_metadata="` + meta + `"`},
		{`Bearer`, `Bearer resource_metadata="` + meta + `"`},
		{`Bearer resource_metadata="http://unterminated`, `Bearer resource_metadata="` + meta + `"`},
	}
	for _, tt := range tests {
		if got := rs.RewriteUpstreamChallenge("up", "http://up.internal/mcp", tt.in); got != tt.want {
			t.Errorf("%s\n got  %s\n want %s", tt.in, got, tt.want)
		}
	}
}

func TestTransparentRefusals(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	rs := newRS(t, as, nil)
	// An upstream with no metadata: a token cannot be validated.
	dead := httptest.NewServer(http.NotFoundHandler())
	defer dead.Close()
	tests := []struct {
		name, authz, want string
	}{
		{"no token goes on", "", ""},
		{"basic", "Basic Zm9v", "invalid_request"},
		{"opaque", "Bearer opaque-1", "opaque tokens are not supported"},
		{"no upstream metadata", "Bearer " + as.Mint(as.Claims("a", gw+"/mcp/up", "")), "could not be validated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rs.AuthenticateTransparent(context.Background(), authz.Request{Server: "up", Authorization: tt.authz}, dead.URL+"/mcp")
			if tt.want == "" {
				if err != nil || p != nil {
					t.Fatalf("got %v %v", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}
