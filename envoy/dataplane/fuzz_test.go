package dataplane

import (
	"net/url"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// FuzzHeaderMutation applies arbitrary mutations under arbitrary rules:
// no panic, pseudo-headers are never removed, keys stay lower-case and
// values stay valid header values.
func FuzzHeaderMutation(f *testing.F) {
	for _, s := range []struct {
		set, val, rm string
		bits         uint8
	}{
		{"x-envoy-foo", "1", "", 0}, {":authority", "evil", ":path", 1}, {"host", "h", "host", 3},
		{":status", "99", "content-length", 0}, {"X-Multi", "b", "x-multi", 4}, {":method", "PUT", ":method", 16},
		{"x-bad", "a\nb", "", 0}, {"content-length", "5", "", 32},
	} {
		f.Add(s.set, s.val, s.rm, s.bits)
	}
	f.Fuzz(func(t *testing.T, set, val, rm string, bits uint8) {
		ck, err := newChecker(MutationRules{AllowAllRouting: bits&1 != 0, AllowEnvoy: bits&2 != 0, DisallowSystem: bits&4 != 0,
			DisallowAll: bits&8 != 0, DisallowIsError: bits&16 != 0})
		if err != nil {
			t.Fatal(err)
		}
		h := headerList{{":authority", "a"}, {":path", "/p"}, {":method", "POST"}, {":scheme", "http"}, {"x-multi", "a"}, {"content-length", "3"}}
		m := &extprocv3.HeaderMutation{
			RemoveHeaders: []string{rm},
			SetHeaders:    []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: set, RawValue: []byte(val)}, Append: wrapperspb.Bool(bits&64 != 0)}},
		}
		_, _ = ck.apply(&h, m, mutationCtx{removeCL: bits&32 != 0})
		for _, k := range []string{":authority", ":path", ":method", ":scheme"} {
			if _, ok := h.get(k); !ok {
				t.Fatalf("%s removed: %v", k, h)
			}
		}
		for _, e := range h {
			if e.k != strings.ToLower(e.k) || !httpguts.ValidHeaderFieldValue(e.v) {
				t.Fatalf("bad entry %q=%q", e.k, e.v)
			}
		}
	})
}

// FuzzRouting maps arbitrary paths: no panic, matched routes keep the
// upstream's scheme and host, unmatched paths never select a route.
func FuzzRouting(f *testing.F) {
	for _, s := range []string{"/mcp/files", "/mcp/files/", "/mcp/filesystem", "/mcp/files/a?b=c", "/mcp/web/x#f", "/", "", "/mcp/files?", "//mcp/files"} {
		f.Add(s)
	}
	up, _ := url.Parse("http://up:1/mcp")
	p := &Proxy{routes: []Route{{Name: "files", PathPrefix: "/mcp/files", Upstream: up}, {Name: "web", PathPrefix: "/mcp/web", Upstream: up}}}
	f.Fuzz(func(t *testing.T, path string) {
		rt := p.routeFor(path)
		if rt == nil {
			return
		}
		u := upstreamURL(rt.Upstream, rt.PathPrefix, path)
		if u.Scheme != "http" || u.Host != "up:1" || !strings.HasPrefix(u.Path, "/mcp") {
			t.Fatalf("%q → %v", path, u)
		}
	})
}
