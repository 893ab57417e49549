package authz_test

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/authztest"
)

type oneRoute struct{ up string }

func (r oneRoute) Route(name string) (string, bool, bool) { return r.up, true, name == "up" }

// asProxyEnv: a transparent route "up" whose upstream names upAS in its
// protected-resource metadata; the gateway fronts upAS at gw/oauth/as/up.
func asProxyEnv(t *testing.T) (*authztest.Server, http.Handler, http.Handler) {
	t.Helper()
	upAS := authztest.New(t, authztest.Options{Scopes: []string{"up"}})
	prm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resource": "http://" + r.Host + "/mcp", "authorization_servers": []string{upAS.URL}})
	}))
	t.Cleanup(prm.Close)
	gwAS := authztest.New(t, authztest.Options{})
	rs := newRS(t, gwAS, nil)
	routes := oneRoute{up: prm.URL + "/mcp"}
	return upAS, authz.ASProxyHandler(rs, routes), authz.MetadataHandler(rs, routes, http.NotFoundHandler())
}

func do(h http.Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestASProxyFacade(t *testing.T) {
	upAS, proxy, meta := asProxyEnv(t)
	iss := gw + "/oauth/as/up"

	// RFC 8414 path-inserted discovery and the OpenID form both name the
	// gateway as issuer and endpoints; what is not proxied is not offered.
	for _, p := range []string{"/.well-known/oauth-authorization-server/oauth/as/up", "/.well-known/openid-configuration/oauth/as/up"} {
		rec := do(meta, "GET", p, "")
		var m map[string]any
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
			t.Fatalf("%s: %d %s", p, rec.Code, rec.Body)
		}
		if m["issuer"] != iss || m["token_endpoint"] != iss+"/token" || m["registration_endpoint"] != iss+"/register" ||
			m["authorization_endpoint"] != iss+"/authorize" || m["client_id_metadata_document_supported"] != false || m["introspection_endpoint"] != nil {
			t.Fatalf("%s: %v", p, m)
		}
	}
	if rec := do(proxy, "GET", "/oauth/as/up/.well-known/openid-configuration", ""); rec.Code != 200 {
		t.Fatalf("issuer-suffixed discovery: %d", rec.Code)
	}
	if rec := do(meta, "GET", "/.well-known/oauth-authorization-server/oauth/as/nope", ""); rec.Code != 404 {
		t.Fatalf("unknown route metadata: %d", rec.Code)
	}

	// Registration: the upstream registers the gateway's callback; the
	// client gets a wrapped id and its own redirect URIs back.
	rec := do(proxy, "POST", "/oauth/as/up/register", `{"redirect_uris":["http://127.0.0.1:5555/cb"],"client_name":"x"}`, "Content-Type", "application/json")
	var reg struct {
		ClientID     string   `json:"client_id"`
		RedirectURIs []string `json:"redirect_uris"`
	}
	if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &reg) != nil || !strings.HasPrefix(reg.ClientID, "pcx.") || reg.RedirectURIs[0] != "http://127.0.0.1:5555/cb" {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	if rec := do(proxy, "POST", "/oauth/as/up/register", `{"redirect_uris":["/relative"]}`); rec.Code != 400 {
		t.Fatalf("relative redirect registered: %d", rec.Code)
	}

	verifier := "v-0123456789012345678901234567890123456789"
	sum := sha256.Sum256([]byte(verifier))
	authorize := func(clientID, redirect string) *httptest.ResponseRecorder {
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "state": {"client-state"},
			"code_challenge": {enc.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {gw + "/mcp/up"},
			"request_uri": {"urn:ietf:params:oauth:request_uri:other-redirect"}}
		return do(proxy, "GET", "/oauth/as/up/authorize?"+q.Encode(), "")
	}
	// Never a redirect to an unregistered URI, nor for a forged client.
	for _, tc := range []struct{ name, id, redirect string }{
		{"unregistered redirect", reg.ClientID, "https://evil.example/cb"},
		{"forged client id", reg.ClientID[:len(reg.ClientID)-2] + "xx", "http://127.0.0.1:5555/cb"},
		{"upstream client id", "dyn-1", "http://127.0.0.1:5555/cb"},
	} {
		if rec := authorize(tc.id, tc.redirect); rec.Code != 400 || rec.Header().Get("Location") != "" {
			t.Errorf("%s: %d %q", tc.name, rec.Code, rec.Header().Get("Location"))
		}
	}
	// Loopback redirect URIs may differ in port (RFC 8252 §7.3).
	rec = authorize(reg.ClientID, "http://127.0.0.1:6000/cb")
	if rec.Code != 302 {
		t.Fatalf("authorize: %d %s", rec.Code, rec.Body)
	}
	to, _ := url.Parse(rec.Header().Get("Location"))
	if !strings.HasPrefix(to.String(), upAS.AuthorizeURL()) || to.Query().Get("redirect_uri") != iss+"/callback" || !strings.HasPrefix(to.Query().Get("client_id"), "dyn-") ||
		to.Query().Has("request_uri") || to.Query().Get("code_challenge") != enc.EncodeToString(sum[:]) {
		t.Fatalf("upstream authorize %s", to)
	}
	// The upstream AS consents and redirects to the gateway's callback.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(to.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(cb.String(), iss+"/callback") {
		t.Fatalf("upstream redirect %s", cb)
	}
	// A callback with a tampered state or another issuer is refused.
	bad := cb.Query()
	bad.Set("state", bad.Get("state")+"x")
	if rec := do(proxy, "GET", "/oauth/as/up/callback?"+bad.Encode(), ""); rec.Code != 400 {
		t.Fatalf("tampered state: %d", rec.Code)
	}
	bad = cb.Query()
	bad.Set("iss", "https://other-as.example")
	if rec := do(proxy, "GET", "/oauth/as/up/callback?"+bad.Encode(), ""); rec.Code != 400 {
		t.Fatalf("mixed-up issuer: %d", rec.Code)
	}
	rec = do(proxy, "GET", "/oauth/as/up/callback?"+cb.RawQuery, "")
	back, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != 302 || back.Host != "127.0.0.1:6000" || back.Query().Get("state") != "client-state" || back.Query().Get("iss") != iss || back.Query().Get("code") == "" {
		t.Fatalf("callback: %d %s", rec.Code, back)
	}

	// Token: the wrapped client id is unwrapped, the redirect URI replaced.
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:6000/cb"},
		"code_verifier": {verifier}, "client_id": {reg.ClientID}, "resource": {gw + "/mcp/up"}}
	rec = do(proxy, "POST", "/oauth/as/up/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tr) != nil || tr.AccessToken == "" {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"unwrapped client", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"dyn-1"}}, 401},
		{"grant type not proxied", url.Values{"grant_type": {"client_credentials"}, "client_id": {reg.ClientID}}, 400},
		{"unregistered redirect", url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://evil.example"}, "client_id": {reg.ClientID}}, 400},
	} {
		if rec := do(proxy, "POST", "/oauth/as/up/token", tc.form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); rec.Code != tc.want {
			t.Errorf("%s: %d %s", tc.name, rec.Code, rec.Body)
		}
	}
	if rec := do(proxy, "GET", "/oauth/as/other/authorize", ""); rec.Code != 404 {
		t.Fatalf("unknown route: %d", rec.Code)
	}
}
