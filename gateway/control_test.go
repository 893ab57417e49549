package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Issue 11 #22: no cross-origin POST /admin/reload, no /metrics under a
// foreign Host, a bearer token when configured; health stays open.
func TestAdminGuard(t *testing.T) {
	const tok = "0123456789abcdef0123"
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name   string
		token  string
		method string
		path   string
		host   string
		hdr    map[string]string
		want   int
	}{
		{"metrics on loopback ip", "", "GET", "/metrics", "127.0.0.1:9090", nil, http.StatusTeapot},
		{"metrics on localhost", "", "GET", "/metrics", "localhost:9090", nil, http.StatusTeapot},
		{"metrics on an allowed name", "", "GET", "/metrics", "gw.internal:9090", nil, http.StatusTeapot},
		{"metrics under a foreign host (DNS rebinding)", "", "GET", "/metrics", "evil.example:9090", nil, http.StatusForbidden},
		{"reload cross-origin", "", "POST", "/admin/reload", "127.0.0.1:9090", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"reload from another local port", "", "POST", "/admin/reload", "127.0.0.1:9090", map[string]string{"Origin": "http://127.0.0.1:3000"}, http.StatusForbidden},
		{"reload cross-site fetch metadata", "", "POST", "/admin/reload", "127.0.0.1:9090", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"reload same origin", "", "POST", "/admin/reload", "127.0.0.1:9090", map[string]string{"Origin": "http://127.0.0.1:9090"}, http.StatusTeapot},
		{"reload from curl", "", "POST", "/admin/reload", "127.0.0.1:9090", nil, http.StatusTeapot},
		{"token missing", tok, "GET", "/metrics", "127.0.0.1:9090", nil, http.StatusUnauthorized},
		{"token wrong", tok, "GET", "/metrics", "127.0.0.1:9090", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"token right", tok, "POST", "/admin/reload", "127.0.0.1:9090", map[string]string{"Authorization": "Bearer " + tok}, http.StatusTeapot},
		{"healthz open", tok, "GET", "/healthz", "evil.example", nil, http.StatusTeapot},
		{"readyz open", tok, "GET", "/readyz", "evil.example", nil, http.StatusTeapot},
		{"well-known metadata without token", tok, "GET", "/.well-known/oauth-protected-resource", "127.0.0.1:9090", nil, http.StatusTeapot},
		{"self-authenticated page without token", tok, "GET", "/approvals/console", "127.0.0.1:9090", nil, http.StatusTeapot},
		{"self-authenticated page still checks Host", tok, "GET", "/approvals/console", "evil.example", nil, http.StatusForbidden},
		{"self-authenticated page still checks Origin", tok, "POST", "/approvals/x/approve", "127.0.0.1:9090", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			self := func(p string) bool { return strings.HasPrefix(p, "/approvals/") }
			h := adminGuard(ok, func() []string { return []string{"gw.internal"} }, tc.token, self)
			r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, nil)
			r.Host = tc.host
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without a challenge")
			}
		})
	}
}
