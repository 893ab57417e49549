package dataplane

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// TestMatrixHeaderMutations covers §4 mutation rules under default and
// permissive settings, raw_value vs value and append semantics.
func TestMatrixHeaderMutations(t *testing.T) {
	def := mode(BodyNone, BodyNone)
	rules := func(r MutationRules) FilterConfig { f := def; f.MutationRules = r; return f }
	onReq := func(mut ...func(*extprocv3.CommonResponse)) script {
		return byKind(map[string]H{"req_headers": with(mut...)})
	}
	onResp := func(mut ...func(*extprocv3.CommonResponse)) script {
		return byKind(map[string]H{"resp_headers": with(mut...)})
	}
	rejected := func(n int64) func(t *testing.T, e *env, _ clientSaw) {
		return func(t *testing.T, e *env, _ clientSaw) {
			eq(t, "rejected_header_mutations", e.proxy.Stats().RejectedHeaderMutations, n)
		}
	}
	upHost := func(want func(e *env) string) func(t *testing.T, e *env, _ clientSaw) {
		return func(t *testing.T, e *env, _ clientSaw) { eq(t, "upstream host", e.upstream()[0].Host, want(e)) }
	}
	upstreamHost := func(e *env) string { return strings.TrimPrefix(e.up.URL, "http://") }
	cases := []matrixCase{
		{name: "x-envoy-* ignored by default", opts: envOpts{filter: def}, script: onReq(setHdr("x-envoy-foo", "1"), setHdr("x-ok", "1")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, g clientSaw) {
				eq(t, "x-envoy-foo", upHeader("X-Envoy-Foo")(t, e), "")
				eq(t, "x-ok", upHeader("X-Ok")(t, e), "1")
				rejected(1)(t, e, g)
			}},
		{name: "x-envoy-* allowed with allow_envoy", opts: envOpts{filter: rules(MutationRules{AllowEnvoy: true})}, script: onReq(setHdr("x-envoy-foo", "1")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, g clientSaw) {
				eq(t, "x-envoy-foo", upHeader("X-Envoy-Foo")(t, e), "1")
				rejected(0)(t, e, g)
			}},
		{name: "disallow_is_error turns a rejected mutation into 500", opts: envOpts{filter: rules(MutationRules{DisallowIsError: true})}, script: onReq(setHdr("x-envoy-foo", "1")),
			status: 500, upstreams: 0},
		{name: ":authority ignored by default", opts: envOpts{filter: def}, script: onReq(setHdr(":authority", "evil.example")), status: 200, upstreams: 1,
			check: upHost(upstreamHost)},
		{name: ":authority rewritten with allow_all_routing", opts: envOpts{filter: rules(MutationRules{AllowAllRouting: true})}, script: onReq(setHdr(":authority", "other.example")), status: 200, upstreams: 1,
			check: upHost(func(*env) string { return "other.example" })},
		{name: "host ignored by default", opts: envOpts{filter: def}, script: onReq(setHdr("host", "evil.example")), status: 200, upstreams: 1,
			check: upHost(upstreamHost)},
		{name: "host rewritten with allow_all_routing", opts: envOpts{filter: rules(MutationRules{AllowAllRouting: true})}, script: onReq(setHdr("host", "h.example")), status: 200, upstreams: 1,
			check: upHost(func(*env) string { return "h.example" })},
		{name: ":method ignored by default", opts: envOpts{filter: def}, script: onReq(setHdr(":method", "PUT")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "method", e.upstream()[0].Method, "POST") }},
		{name: ":path may be rewritten by default", opts: envOpts{filter: def}, script: onReq(setHdr(":path", "/mcp/files/changed?z=2")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "path", e.upstream()[0].Path, "/mcp/changed")
				eq(t, "query", e.upstream()[0].Query, "z=2")
			}},
		{name: ":path can never be removed", opts: envOpts{filter: rules(MutationRules{AllowAllRouting: true, AllowEnvoy: true})}, script: onReq(rmHdr(":path"), rmHdr("host")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, g clientSaw) {
				eq(t, "path", e.upstream()[0].Path, "/mcp")
				rejected(2)(t, e, g)
			}},
		{name: ":status rewritten on response by default", opts: envOpts{filter: def}, script: onResp(setHdr(":status", "201")), status: 201, upstreams: 1},
		{name: "invalid :status rejected", opts: envOpts{filter: def}, script: onResp(setHdr(":status", "99")), status: 200, upstreams: 1, check: rejected(1)},
		{name: "disallow_all with allow_expression", opts: envOpts{filter: rules(MutationRules{DisallowAll: true, AllowExpression: "^x-allowed-"})},
			script: onReq(setHdr("x-allowed-a", "1"), setHdr("x-other", "1")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, g clientSaw) {
				eq(t, "allowed", upHeader("X-Allowed-A")(t, e), "1")
				eq(t, "other", upHeader("X-Other")(t, e), "")
				rejected(1)(t, e, g)
			}},
		{name: "disallow_expression beats allow", opts: envOpts{filter: rules(MutationRules{DisallowExpression: "^x-secret$"})},
			script: onReq(setHdr("x-secret", "1")), status: 200, upstreams: 1, check: rejected(1)},
		{name: "disallow_system blocks pseudo-header changes", opts: envOpts{filter: rules(MutationRules{DisallowSystem: true})},
			script: onReq(setHdr(":path", "/mcp/files/x")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "path", e.upstream()[0].Path, "/mcp") }},
		{name: "Value-only header mutation yields an empty header", opts: envOpts{filter: def}, script: onReq(valueOnlyHdr("x-val", "ignored")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "x-val", e.upstream()[0].Header["X-Val"], []string{""}) }},
		{name: "append true adds a value", opts: envOpts{filter: def}, script: onReq(appendHdr("x-multi", "b", true)), upstreams: 1,
			request: func(e *env) clientSaw { return e.post("/mcp/files", "{}", "X-Multi", "a") },
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "x-multi", e.upstream()[0].Header["X-Multi"], []string{"a", "b"})
			}},
		{name: "append false overwrites", opts: envOpts{filter: def}, script: onReq(appendHdr("x-multi", "b", false)), upstreams: 1,
			request: func(e *env) clientSaw { return e.post("/mcp/files", "{}", "X-Multi", "a", "X-Multi", "a2") },
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "x-multi", e.upstream()[0].Header["X-Multi"], []string{"b"})
			}},
		{name: "repeated request headers are separate entries", opts: envOpts{filter: def}, upstreams: 1,
			request: func(e *env) clientSaw { return e.post("/mcp/files", "{}", "X-Multi", "a", "X-Multi", "b") },
			check: func(t *testing.T, e *env, _ clientSaw) {
				var vals []string
				for _, h := range e.proc.requests()[0].GetRequestHeaders().GetHeaders().GetHeaders() {
					if h.GetKey() == "x-multi" {
						vals = append(vals, string(h.GetRawValue()))
					}
				}
				eq(t, "x-multi entries", vals, []string{"a", "b"})
			}},
		{name: "invalid header value is an error", opts: envOpts{filter: def}, script: onReq(setHdr("x-bad", "a\nb")), status: 500, upstreams: 0},
		{name: "response header removal and set", opts: envOpts{filter: def}, script: onResp(rmHdr("content-type"), setHdr("x-r", "1")), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, g clientSaw) {
				eq(t, "content-type removed", g.Header.Get("Content-Type"), "")
				eq(t, "x-r", g.Header.Get("X-R"), "1")
			}},
		{name: "ImmediateResponse headers obey mutation rules", opts: envOpts{filter: def},
			script: byKind(map[string]H{"req_headers": respond(immediate(403, "x", "x-envoy-x", "1", "x-y", "2"))}), status: 403, upstreams: 0,
			check: func(t *testing.T, e *env, g clientSaw) {
				eq(t, "x-envoy dropped", g.Header.Get("X-Envoy-X"), "")
				eq(t, "x-y", g.Header.Get("X-Y"), "2")
			}},
	}
	runMatrix(t, cases)
}

// TestRouting covers prefix matching, the catch-all, the sandbox re-route
// after clear_route_cache, per-route method modes and disabled routes.
func TestRouting(t *testing.T) {
	var sandboxHits atomic.Int64
	sandbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sandboxHits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Served-By", "sandbox:"+r.URL.Path)
		_, _ = io.WriteString(w, "sandboxed")
	}))
	t.Cleanup(sandbox.Close)
	sbURL, _ := url.Parse(sandbox.URL + "/sb")
	routes := func(up *url.URL) []Route {
		return []Route{
			{Name: "files", PathPrefix: "/mcp/files", Upstream: up, Sandbox: sbURL},
			{Name: "web", PathPrefix: "/mcp/web", Upstream: sbURL},
			{Name: "meta", PathPrefix: "/.well-known/oauth-protected-resource", Upstream: up, Disabled: true},
		}
	}
	sandboxed := func(want bool) func(t *testing.T, e *env, g clientSaw) {
		return func(t *testing.T, e *env, g clientSaw) {
			eq(t, "served by sandbox", strings.HasPrefix(g.Header.Get("X-Served-By"), "sandbox:"), want)
		}
	}
	reroute := func(clear bool) script {
		return byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
			c := common(setHdr(RouteHeader, "sandbox"))
			c.ClearRouteCache = clear
			return []*extprocv3.ProcessingResponse{reply(req, c)}, nil
		}})
	}
	base := envOpts{filter: bufferedBoth, routes: routes}
	withCatchAll := base
	withCatchAll.catchAll = "/mcp/"
	cases := []matrixCase{
		{name: "prefix does not match a longer segment", opts: base, request: postTo("/mcp/filesystem", "{}"),
			status: 404, upstreams: 0, transcript: []string{}, details: "route_not_found"},
		{name: "exact prefix maps to the upstream path", opts: base, request: postTo("/mcp/files", "{}"), status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "path", e.upstream()[0].Path, "/mcp") }},
		{name: "catch-all goes through ext_proc then 404", opts: withCatchAll, request: postTo("/mcp/unknown", "{}"),
			status: 404, upstreams: 0, transcript: []string{"req_headers eos=false cl=2", `req_body "{}" eos=true`}, details: "route_not_found"},
		{name: "catch-all answered by the processor", opts: withCatchAll, request: postTo("/mcp/unknown", "{}"),
			script: byKind(map[string]H{"req_headers": respond(immediate(404, `{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"unknown server"}}`, "content-type", "application/json"))}),
			status: 404, upstreams: 0, check: func(t *testing.T, e *env, g clientSaw) { eq(t, "ct", g.Header.Get("Content-Type"), "application/json") }},
		{name: "sandbox re-route with clear_route_cache", opts: base, script: reroute(true), status: 200, upstreams: 0, body: ptr("sandboxed"),
			check: func(t *testing.T, e *env, g clientSaw) {
				sandboxed(true)(t, e, g)
				eq(t, "sandbox path", g.Header.Get("X-Served-By"), "sandbox:/sb")
			}},
		{name: "sandbox header without clear_route_cache keeps the route", opts: base, script: reroute(false), status: 200, upstreams: 1, check: sandboxed(false)},
		{name: ":path rewrite + clear_route_cache selects another route", opts: base,
			script: byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				c := common(setHdr(":path", "/mcp/web/page"))
				c.ClearRouteCache = true
				return []*extprocv3.ProcessingResponse{reply(req, c)}, nil
			}}),
			status: 200, upstreams: 0, check: func(t *testing.T, e *env, g clientSaw) {
				eq(t, "served", g.Header.Get("X-Served-By"), "sandbox:/sb/page")
			}},
		{name: "disabled route opens no stream", opts: base, request: get("/.well-known/oauth-protected-resource"), status: 200, upstreams: 1,
			transcript: []string{},
			check:      func(t *testing.T, e *env, _ clientSaw) { eq(t, "streams", e.proxy.Stats().StreamsStarted, int64(0)) }},
	}
	runMatrix(t, cases)
	_ = sandboxHits.Load()
}

func TestUpstreamURL(t *testing.T) {
	base, _ := url.Parse("http://u:9/mcp")
	root, _ := url.Parse("http://u:9")
	cases := []struct {
		base       *url.URL
		prefix, in string
		want       string
	}{
		{base, "/mcp/files", "/mcp/files", "http://u:9/mcp"},
		{base, "/mcp/files", "/mcp/files/", "http://u:9/mcp/"},
		{base, "/mcp/files", "/mcp/files/a/b?x=1&y=2", "http://u:9/mcp/a/b?x=1&y=2"},
		{root, "/mcp/files", "/mcp/files", "http://u:9/"},
		{root, "/mcp/files", "/mcp/files/x", "http://u:9/x"},
		{base, "/mcp/files", "/elsewhere?q", "http://u:9/elsewhere?q"},
		{base, "/", "/a", "http://u:9/mcp/a"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			eq(t, "url", upstreamURL(c.base, c.prefix, c.in).String(), c.want)
		})
	}
}

func TestMatchPrefix(t *testing.T) {
	for _, c := range []struct {
		path, prefix string
		want         bool
	}{
		{"/mcp/files", "/mcp/files", true}, {"/mcp/files/", "/mcp/files", true}, {"/mcp/files/x", "/mcp/files", true},
		{"/mcp/filesystem", "/mcp/files", false}, {"/mcp", "/mcp/files", false}, {"/x", "/", true},
	} {
		eq(t, c.path+" vs "+c.prefix, matchPrefix(c.path, c.prefix), c.want)
	}
}

func TestConfigValidation(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1/mcp")
	bad, _ := url.Parse("ftp://x")
	_, err := New(Config{
		Routes: []Route{
			{Name: "", PathPrefix: "mcp", Upstream: u},
			{Name: "a", PathPrefix: "/a/", Upstream: nil},
			{Name: "b", PathPrefix: "/b", Upstream: bad},
			{Name: "c", PathPrefix: "/b", Upstream: u},
		},
		Filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyFullDuplex}, StatusOnError: 42,
			MutationRules: MutationRules{AllowExpression: "("}},
		BufferLimit: -1,
	})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"processor: gRPC connection is required", "routes[0].name: required", `routes[0].path_prefix: "mcp" must start with /`,
		`routes[1].path_prefix: "/a/" must not end with /`, "routes[1].upstream: required", `routes[2].upstream: "ftp://x" must be an absolute http(s) URL`,
		`routes[3].path_prefix: "/b" duplicated`, "FULL_DUPLEX_STREAMED request body requires request_trailer_mode SEND",
		"filter.status_on_error: 42", "filter.mutation_rules.allow_expression", "buffer_limit: must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
