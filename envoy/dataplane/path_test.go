package dataplane

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// pathCases: every bad input of issue 11 #16 and the forms a well-behaved
// client sends. err "" means the normalised target is want.
var pathCases = []struct {
	in, want string
	err      error
}{
	{in: "/mcp/files", want: "/mcp/files"},
	{in: "/mcp/files/", want: "/mcp/files/"},
	{in: "/mcp/files?a=../b&c=%2f", want: "/mcp/files?a=../b&c=%2f"}, // the query is not a path
	{in: "/mcp/files//x///y", want: "/mcp/files/x/y"},
	{in: "/mcp/files/%7euser/%41", want: "/mcp/files/~user/A"}, // unreserved escapes decoded
	{in: "/mcp/files/a%20b%c3%a9", want: "/mcp/files/a%20b%C3%A9"},
	{in: "/mcp/files/.well-known/x..y/...", want: "/mcp/files/.well-known/x..y/..."},
	{in: "/mcp/evil/../x", err: errPathDots},
	{in: "/mcp/files/..", err: errPathDots},
	{in: "/mcp/files/./x", err: errPathDots},
	{in: "/mcp/files/%2e%2e/x", err: errPathDots},
	{in: "/mcp/files/%2E%2e/x", err: errPathDots},
	{in: "/mcp/files/.%2e", err: errPathDots},
	{in: "/mcp/files//..//x", err: errPathDots},
	{in: "/mcp/evil#/../../x", err: errPathFragment},
	{in: "/mcp/files#frag", err: errPathFragment},
	{in: "/mcp/files/a%2fb", err: errPathEscSlash},
	{in: "/mcp/files/%2F..%2F..%2Fx", err: errPathEscSlash},
	{in: "/mcp/files/a%5cb", err: errPathEscSlash},
	{in: "/mcp/files/a\\b", err: errPathEscSlash},
	{in: "/mcp/files/%", err: errPathInvalid},
	{in: "/mcp/files/%zz", err: errPathInvalid},
	{in: "/mcp/files/a%00b", want: "/mcp/files/a%00b"}, // kept escaped, never decoded
	{in: "mcp/files", err: errPathInvalid},
	{in: "*", err: errPathInvalid},
}

func TestNormalizePath(t *testing.T) {
	for _, tc := range pathCases {
		got, err := normalizePath(tc.in)
		if err != tc.err {
			t.Errorf("%q: error %v, want %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("%q → %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNormalizePath: no panic; an accepted path is canonical (normalising
// it again changes nothing), has no dot segment, empty segment, fragment or
// encoded slash, and maps below the route's upstream path.
func FuzzNormalizePath(f *testing.F) {
	for _, tc := range pathCases {
		f.Add(tc.in)
	}
	up, _ := url.Parse("http://up:1/base")
	f.Fuzz(func(t *testing.T, in string) {
		out, err := normalizePath(in)
		if err != nil {
			return
		}
		again, err := normalizePath(out)
		if err != nil || again != out {
			t.Fatalf("%q → %q → %q, %v: not canonical", in, out, again, err)
		}
		p, _, _ := strings.Cut(out, "?")
		for _, seg := range strings.Split(p, "/")[1:] {
			if seg == "." || seg == ".." {
				t.Fatalf("%q → %q keeps a dot segment", in, out)
			}
		}
		if strings.Contains(p, "//") || strings.Contains(p, "#") || strings.Contains(strings.ToLower(p), "%2f") {
			t.Fatalf("%q → %q", in, out)
		}
		if matchPrefix(p, "/mcp/files") {
			u := upstreamURL(up, "/mcp/files", out)
			if u.Host != "up:1" || !matchPrefix(u.Path, "/base") || !strings.HasPrefix(u.EscapedPath(), "/base") {
				t.Fatalf("%q → %v escapes the upstream path", in, u)
			}
		}
	})
}

// Issue 11 #16: only the route's upstream path and below is reachable; a
// climbing or smuggled path is refused before ext_proc and nothing reaches
// the upstream. Paths a client may legitimately send arrive canonical.
func TestPathEscapeRefused(t *testing.T) {
	e := newEnv(t, envOpts{filter: bufferedBoth, catchAll: "/mcp/"}, continueAll)
	for _, tc := range pathCases {
		if !strings.HasPrefix(tc.in, "/") {
			continue // not an origin-form target net/http would accept
		}
		t.Run(tc.in, func(t *testing.T) {
			before, procBefore := len(e.upstream()), len(e.proc.requests())
			rc := dialRaw(t, e)
			if err := rc.write("GET " + tc.in + " HTTP/1.1\r\nHost: proxy\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, body, err := rc.read(http.MethodGet)
			if err != nil {
				t.Fatal(err)
			}
			if tc.err != nil {
				eq(t, "status", resp.StatusCode, http.StatusBadRequest)
				eq(t, "upstream requests", len(e.upstream())-before, 0)
				eq(t, "processor messages", len(e.proc.requests())-procBefore, 0)
				// net/http itself refuses malformed escapes before the proxy runs
				if tc.err != errPathInvalid && !strings.Contains(body, tc.err.Error()) {
					t.Errorf("body %q does not say why", body)
				}
				return
			}
			eq(t, "status", resp.StatusCode, http.StatusOK)
			up := e.upstream()
			if len(up) != before+1 {
				t.Fatalf("upstream saw %d requests", len(up)-before)
			}
			want := "/mcp" + strings.TrimPrefix(tc.want, "/mcp/files")
			eq(t, "upstream request-target", up[len(up)-1].RequestURI, want)
		})
	}
}

// Config.LocalReply formats the proxy's own replies (the gateway answers
// JSON-RPC), never a processor's ImmediateResponse.
func TestLocalReplyFormat(t *testing.T) {
	e := newEnv(t, envOpts{filter: bufferedBoth}, func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		if h := req.GetRequestHeaders(); h != nil {
			if p, _ := hdrVal(h.GetHeaders(), ":path"); p == "/mcp/files/deny" {
				return []*extprocv3.ProcessingResponse{immediate(403, "processor body")}, nil
			}
		}
		return cont(req), nil
	})
	e.proxy.localFmt = func(status int, details string) (string, []byte) {
		return "application/json", []byte(`{"status":` + http.StatusText(status) + `,"details":"` + details + `"}`)
	}
	got := e.do(mustReq(t, http.MethodGet, e.front.URL+"/mcp/files/a%2fb"))
	eq(t, "bad path status", got.Status, 400)
	eq(t, "bad path content-type", got.Header.Get("Content-Type"), "application/json")
	eq(t, "bad path body", got.Body, `{"status":Bad Request,"details":"path_normalization_failed"}`)
	got = e.do(mustReq(t, http.MethodGet, e.front.URL+"/nowhere"))
	eq(t, "no route body", got.Body, `{"status":Not Found,"details":"route_not_found"}`)
	got = e.do(mustReq(t, http.MethodGet, e.front.URL+"/mcp/files/deny"))
	eq(t, "processor reply untouched", got.Body, "processor body")
}

func mustReq(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
