package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/console"
)

func setup(t *testing.T) (*httptest.Server, *approval.Service, string) {
	t.Helper()
	cfg := approval.Config{}
	cfg.ApplyDefaults()
	svc, err := approval.New(cfg, approval.NewMemoryStore(0))
	require.NoError(t, err)
	h, err := console.New(console.Options{Service: svc, Auth: console.InsecureDev{},
		Status: func(context.Context) console.Status { return console.Status{PolicyVersion: "v9"} }})
	require.NoError(t, err)
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	res, err := svc.Check(context.Background(), approval.Binding{Principal: "agent-1", Server: "files", Method: "tools/call", Tool: "write_file",
		Arguments: []byte(`{"path":"a.txt","api_key":"sk-live-123"}`), Score: 50})
	require.NoError(t, err)
	return srv, svc, res.ID
}

func do(t *testing.T, method, url string, hdr map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPageIsLockedDown(t *testing.T) {
	srv, _, id := setup(t)
	resp, err := http.Get(srv.URL + "/approvals/" + id)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'self'")
	require.NotContains(t, csp, "unsafe-inline")
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	cookie := resp.Header.Get("Set-Cookie")
	require.Contains(t, cookie, "SameSite=Strict")
	require.Contains(t, cookie, "HttpOnly")
	page := string(b)
	require.Contains(t, page, "INSECURE development mode")
	require.NotRegexp(t, regexp.MustCompile(`<script>|<script [^>]*>[^<]+</script>|\son[a-z]+="`), page, "no inline script")
	require.NotContains(t, page, "http://", "no external assets")
	require.NotContains(t, page, "https://", "no external assets")
	require.NotContains(t, page, "sk-live", "the page carries no data")
}

func TestAPI(t *testing.T) {
	srv, svc, id := setup(t)
	me := map[string]string{console.HeaderApprover: "alice"}
	jsonMe := map[string]string{console.HeaderApprover: "alice", "Content-Type": "application/json"}
	cases := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		body   string
		code   int
		want   string
	}{
		{"unauthenticated", "GET", "/api/approvals", nil, "", 401, "X-Portcullis-Approver"},
		{"list shows redacted arguments", "GET", "/api/approvals?status=pending", me, "", 200, `"api_key":"«redacted»"`},
		{"cross-origin refused", "GET", "/api/approvals", map[string]string{console.HeaderApprover: "alice", "Origin": "https://evil.example"}, "", 403, "cross-origin"},
		{"cross-site refused", "POST", "/api/approvals/" + id + "/approve", map[string]string{console.HeaderApprover: "alice", "Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, `{}`, 403, "cross-site"},
		{"form post refused", "POST", "/api/approvals/" + id + "/approve", map[string]string{console.HeaderApprover: "alice", "Content-Type": "application/x-www-form-urlencoded"}, "a=b", 403, "application/json"},
		{"browser without token refused", "POST", "/api/approvals/" + id + "/approve", map[string]string{console.HeaderApprover: "alice", "Content-Type": "application/json", "Cookie": "portcullis_csrf=0123456789abcdef0123456789abcdef"}, `{}`, 403, "CSRF"},
		{"unknown field", "POST", "/api/approvals/" + id + "/approve", jsonMe, `{"comment":"x","approve":true}`, 400, "unknown field"},
		{"requester may not approve", "POST", "/api/approvals/" + id + "/approve", map[string]string{console.HeaderApprover: "agent-1", "Content-Type": "application/json"}, `{}`, 403, "may not approve"},
		{"approve", "POST", "/api/approvals/" + id + "/approve", jsonMe, `{"comment":"ok"}`, 200, `"status":"approved"`},
		{"twice", "POST", "/api/approvals/" + id + "/reject", jsonMe, `{}`, 409, "no longer pending"},
		{"not found", "GET", "/api/approvals/apr_nope", me, "", 404, "not found"},
		{"status", "GET", "/api/approvals/status", me, "", 200, `"policy_version":"v9"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, tc.method, srv.URL+tc.path, tc.hdr, tc.body)
			require.Equal(t, tc.code, code, body)
			require.Contains(t, body, tc.want)
			require.NotContains(t, body, "sk-live-123")
		})
	}
	r, err := svc.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, approval.StatusApproved, r.Status)
	require.Equal(t, "ok", r.Votes[0].Comment)
}

func TestBrowserCSRFRoundTrip(t *testing.T) {
	srv, _, id := setup(t)
	resp, err := http.Get(srv.URL + "/approvals")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := regexp.MustCompile(`name="csrf-token" content="([0-9a-f]+)"`).FindStringSubmatch(string(b))
	require.Len(t, tok, 2)
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	hdr := map[string]string{console.HeaderApprover: "bob", "Content-Type": "application/json", "Cookie": cookie, "Origin": srv.URL, "X-CSRF-Token": tok[1]}
	code, body := do(t, "POST", srv.URL+"/api/approvals/"+id+"/reject", hdr, `{"comment":"no"}`)
	require.Equal(t, 200, code, body)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	require.Equal(t, "rejected", v["status"])
}

func TestDenyWithoutAuth(t *testing.T) {
	cfg := approval.Config{}
	cfg.ApplyDefaults()
	svc, _ := approval.New(cfg, approval.NewMemoryStore(0))
	h, err := console.New(console.Options{Service: svc, Auth: console.Deny{}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, body := do(t, "GET", srv.URL+"/api/approvals", map[string]string{console.HeaderApprover: "alice"}, "")
	require.Equal(t, 401, code)
	require.Contains(t, body, "approvals.auth.jwt")
}
