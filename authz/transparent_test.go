package authz_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/authztest"
)

type oneRoute struct{ up string }

func (r oneRoute) Route(name string) (string, bool, bool) { return r.up, true, name == "up" }

func do(h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestTransparentMetadata: the gateway serves the upstream's metadata with
// resource = its route URL and the upstream's own authorization server
// (clients register and authorize there, RFC 8414 issuer and RFC 9207 iss
// unchanged; only the first one, whose tokens the gateway validates),
// without a DPoP requirement the route would refuse; the
// gateway itself answers no authorization-server discovery.
func TestTransparentMetadata(t *testing.T) {
	upAS := authztest.New(t, authztest.Options{})
	prm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": "http://" + r.Host + "/mcp", "authorization_servers": []string{upAS.URL, "https://second-as.example"},
			"scopes_supported": []string{"read"}, "dpop_bound_access_tokens_required": true, "dpop_signing_alg_values_supported": []string{"ES256"}})
	}))
	defer prm.Close()
	rs := newRS(t, authztest.New(t, authztest.Options{}), nil)
	meta := authz.MetadataHandler(rs, oneRoute{up: prm.URL + "/mcp"}, http.NotFoundHandler())
	rec := do(meta, "GET", "/.well-known/oauth-protected-resource/mcp/up", "")
	var m map[string]any
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
	}
	as, _ := m["authorization_servers"].([]any)
	if m["resource"] != gw+"/mcp/up" || len(as) != 1 || as[0] != upAS.URL {
		t.Fatalf("metadata: %v", m)
	}
	if sc, _ := m["scopes_supported"].([]any); len(sc) != 1 || sc[0] != "read" {
		t.Fatalf("scopes_supported not passed on: %v", m)
	}
	if _, ok := m["dpop_bound_access_tokens_required"]; ok {
		t.Fatalf("DPoP requirement passed on: %v", m)
	}
	if _, ok := m["dpop_signing_alg_values_supported"]; ok {
		t.Fatalf("DPoP algorithms passed on: %v", m)
	}
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/oauth/as/up", "/.well-known/openid-configuration/mcp/up"} {
		if rec := do(meta, "GET", p, ""); rec.Code != 404 {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
}

// TestTransparentResourceMismatch: the upstream's metadata must name the
// upstream (or a parent of it) as its resource; anything else is refused
// with 502, reported, and never served under the gateway's URL.
func TestTransparentResourceMismatch(t *testing.T) {
	upAS := authztest.New(t, authztest.Options{})
	var mu sync.Mutex
	resource := ""
	prm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		res := strings.ReplaceAll(resource, "HOST", r.Host)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": res, "authorization_servers": []string{upAS.URL}})
	}))
	defer prm.Close()
	tests := []struct {
		name, resource string
		ok             bool
	}{
		{"the upstream URL", "http://HOST/mcp", true},
		{"trailing slash", "http://HOST/mcp/", true},
		{"the origin (root form)", "http://HOST", true},
		{"another host", "https://evil.example.com/mcp", false},
		{"another scheme", "https://HOST/mcp", false},
		{"another path", "http://HOST/other", false},
		{"a longer path", "http://HOST/mcpx", false},
		{"a child path", "http://HOST/mcp/sub", false},
		{"missing", "", false},
		{"relative", "/mcp", false},
		{"with a fragment", "http://HOST/mcp#x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			resource = tt.resource
			mu.Unlock()
			var reported []error
			rs := newRS(t, upAS, func(c *authz.Config) {
				c.Report = func(server string, err error) { reported = append(reported, err) }
			})
			meta := authz.MetadataHandler(rs, oneRoute{up: prm.URL + "/mcp"}, http.NotFoundHandler())
			rec := do(meta, "GET", "/.well-known/oauth-protected-resource/mcp/up", "")
			var m map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &m)
			if tt.ok {
				if rec.Code != 200 || m["resource"] != gw+"/mcp/up" || len(reported) != 0 {
					t.Fatalf("got %d %v (reported %v)", rec.Code, m, reported)
				}
				return
			}
			if rec.Code != 502 || m["error"] != "invalid_resource_metadata" || !strings.Contains(m["error_description"].(string), "RFC 9728") {
				t.Fatalf("got %d %v", rec.Code, m)
			}
			if len(reported) != 1 || !errors.Is(reported[0], authz.ErrResourceMismatch) {
				t.Fatalf("reported %v", reported)
			}
			// A token is not validated against such an upstream either.
			tok := "Bearer " + upAS.Mint(upAS.Claims("a", gw+"/mcp/up", ""))
			if _, err := rs.AuthenticateTransparent(t.Context(), authz.Request{Server: "up", Authorization: tok}, prm.URL+"/mcp"); !errors.Is(err, authz.ErrResourceMismatch) && (err == nil || !strings.Contains(err.Error(), "names another resource")) {
				t.Fatalf("authenticate: %v", err)
			}
		})
	}
}

// TestTransparentASMigration: after an upstream challenge the gateway
// re-reads the upstream's metadata (no more than once a second), follows a
// new authorization server, validates tokens against its keys (no longer
// the old one's), and names the new server in the metadata it serves, so
// clients see the new issuer and register there (SEP-2352).
func TestTransparentASMigration(t *testing.T) {
	as1 := authztest.New(t, authztest.Options{})
	as2 := authztest.New(t, authztest.Options{})
	var mu sync.Mutex
	cur, fetches := as1.URL, 0
	var prmURL string
	prm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetches++
		as := cur
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": "http://" + r.Host + "/mcp", "authorization_servers": []string{as}})
	}))
	defer prm.Close()
	prmURL = prm.URL + "/.well-known/oauth-protected-resource/mcp"
	now := time.Unix(1_900_000_000, 0)
	var clock sync.Mutex
	rs := newRS(t, as1, func(c *authz.Config) {
		c.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	})
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }
	routes := oneRoute{up: prm.URL + "/mcp"}
	meta := authz.MetadataHandler(rs, routes, http.NotFoundHandler())
	up := prm.URL + "/mcp"
	auth := func(a *authztest.Server) error {
		tok := "Bearer " + a.Mint(map[string]any{"iss": a.URL, "sub": "alice", "aud": gw + "/mcp/up", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
		_, err := rs.AuthenticateTransparent(t.Context(), authz.Request{Server: "up", Authorization: tok}, up)
		return err
	}
	served := func() any {
		var m map[string]any
		_ = json.Unmarshal(do(meta, "GET", "/.well-known/oauth-protected-resource/mcp/up", "").Body.Bytes(), &m)
		as, _ := m["authorization_servers"].([]any)
		if len(as) != 1 {
			return nil
		}
		return as[0]
	}
	if err := auth(as1); err != nil {
		t.Fatalf("as1 token: %v", err)
	}
	if got := served(); got != as1.URL {
		t.Fatalf("served authorization server %v, want %s", got, as1.URL)
	}

	mu.Lock()
	cur = as2.URL
	before := fetches
	mu.Unlock()
	// Within the TTL and without a challenge, the cached metadata stays.
	if err := auth(as2); err == nil {
		t.Fatal("as2 token accepted before re-discovery")
	}
	// A challenge marks it stale, but not sooner than a second after the last fetch.
	rs.RewriteUpstreamChallenge("up", up, `Bearer resource_metadata="`+prmURL+`"`)
	_ = auth(as2)
	mu.Lock()
	if fetches != before {
		t.Fatalf("re-fetched within a second of the last fetch (%d -> %d)", before, fetches)
	}
	mu.Unlock()
	advance(2 * time.Second)
	if err := auth(as2); err != nil {
		t.Fatalf("as2 token after re-discovery: %v", err)
	}
	if err := auth(as1); err == nil {
		t.Fatal("as1 token still accepted after the migration")
	}
	if got := served(); got != as2.URL {
		t.Fatalf("served authorization server %v after the migration, want %s", got, as2.URL)
	}
}
