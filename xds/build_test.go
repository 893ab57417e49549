package xds_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/xds"
)

var update = flag.Bool("update", false, "rewrite golden files")

// quickstart is the config shape of examples/quickstart/portcullis.yaml.
const quickstartYAML = `
listen: {proxy: 127.0.0.1:10000, extproc: 127.0.0.1:50051, admin: 127.0.0.1:9090, xds: 127.0.0.1:18000}
servers:
  - name: files
    url: http://127.0.0.1:3001/mcp
    tools: {allow: ["*"]}
  - name: web
    url: http://127.0.0.1:3002/mcp
    tools: {allow: ["*"]}
`

// fullYAML exercises TLS, DNS names, sandboxes and a unix-socket processor.
const fullYAML = `
listen: {extproc: "unix:///run/portcullis/extproc.sock"}
limits: {max_body_bytes: 1048576, message_timeout: 2s}
servers:
  - name: github
    url: https://api.githubcopilot.com/mcp/
    sandbox: http://sandbox.internal:8080/mcp
    tools: {allow: ["get_*"]}
  - name: ipsrv
    url: https://10.0.0.7:8443/v1/mcp
  - name: local
    url: http://localhost/mcp
`

func mustConfig(t testing.TB, y string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(y))
	require.NoError(t, err)
	return c
}

// stableJSON renders a message as indented protojson with whitespace that
// does not change between runs (protojson randomizes it on purpose).
func stableJSON(t testing.TB, m proto.Message) json.RawMessage {
	t.Helper()
	b, err := protojson.Marshal(m)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, b))
	return buf.Bytes()
}

func render(t testing.TB, r *xds.Resources) []byte {
	t.Helper()
	doc := struct {
		Clusters []json.RawMessage `json:"clusters"`
		Listener json.RawMessage   `json:"listener"`
		Routes   json.RawMessage   `json:"routes"`
	}{Listener: stableJSON(t, r.Listener), Routes: stableJSON(t, r.Routes)}
	for _, c := range r.Clusters {
		doc.Clusters = append(doc.Clusters, stableJSON(t, c))
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	return append(out, '\n')
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name, yaml string
		opts       xds.Options
	}{
		{"quickstart", quickstartYAML, xds.Options{}},
		{"full", fullYAML, xds.Options{ListenAddr: "0.0.0.0:8443", NodeID: "gw-1", MaxMessageTimeout: 60e9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := xds.BuildResources(mustConfig(t, tc.yaml), tc.opts)
			require.NoError(t, err)
			require.NoError(t, res.Validate())
			got := render(t, res)
			path := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./xds -update to create golden files")
			if string(want) != string(got) {
				wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
				for i := 0; i < len(wl) && i < len(gl); i++ {
					if wl[i] != gl[i] {
						t.Fatalf("%s differs at line %d:\nwant %s\n got %s\n(go test ./xds -run TestGolden -update rewrites it)", path, i+1, wl[i], gl[i])
					}
				}
				t.Fatalf("%s: want %d lines, got %d", path, len(wl), len(gl))
			}
		})
	}
}

func clusterNames(r *xds.Resources) []string {
	var out []string
	for _, c := range r.Clusters {
		out = append(out, c.GetName())
	}
	return out
}

func routeNames(r *xds.Resources) []string {
	var out []string
	for _, rt := range r.Routes.GetVirtualHosts()[0].GetRoutes() {
		out = append(out, rt.GetName())
	}
	return out
}

func TestBuildResourcesShape(t *testing.T) {
	res, err := xds.BuildResources(mustConfig(t, fullYAML), xds.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"portcullis_extproc", "mcp_github", "sandbox_github", "mcp_ipsrv", "mcp_local"}, clusterNames(res))
	// The sandbox route comes before the server's normal routes; the 404
	// fallback is last.
	require.Equal(t, []string{"oauth_protected_resource", "oauth_authorization_server", "openid_configuration", "oauth_upstream", "github_sandbox", "github_get", "github",
		"ipsrv_get", "ipsrv", "local_get", "local", "unknown_server"}, routeNames(res))
	require.Equal(t, []string{xds.RouteHeader}, res.Routes.GetInternalOnlyHeaders())

	byName := map[string]*clusterv3.Cluster{}
	for _, c := range res.Clusters {
		byName[c.GetName()] = c
	}
	// Unix-socket processor, no admin → well-known path is a plain 404.
	require.Equal(t, "/run/portcullis/extproc.sock",
		byName["portcullis_extproc"].GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetPipe().GetPath())
	for i := range xds.WellKnownPrefixes {
		require.EqualValues(t, 404, res.Routes.GetVirtualHosts()[0].GetRoutes()[i].GetDirectResponse().GetStatus())
	}

	tlsOf := func(name string) *tlsv3.UpstreamTlsContext {
		ts := byName[name].GetTransportSocket()
		if ts == nil {
			return nil
		}
		var u tlsv3.UpstreamTlsContext
		require.NoError(t, ts.GetTypedConfig().UnmarshalTo(&u))
		return &u
	}
	cases := []struct {
		cluster  string
		typ      clusterv3.Cluster_DiscoveryType
		port     uint32
		tls      bool
		sni      string
		sanType  tlsv3.SubjectAltNameMatcher_SanType
		sanValue string
	}{
		{"mcp_github", clusterv3.Cluster_STRICT_DNS, 443, true, "api.githubcopilot.com", tlsv3.SubjectAltNameMatcher_DNS, "api.githubcopilot.com"},
		{"sandbox_github", clusterv3.Cluster_STRICT_DNS, 8080, false, "", 0, ""},
		{"mcp_ipsrv", clusterv3.Cluster_STATIC, 8443, true, "", tlsv3.SubjectAltNameMatcher_IP_ADDRESS, "10.0.0.7"},
		{"mcp_local", clusterv3.Cluster_STRICT_DNS, 80, false, "", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.cluster, func(t *testing.T) {
			c := byName[tc.cluster]
			require.NotNil(t, c)
			require.Equal(t, tc.typ, c.GetType())
			require.Equal(t, tc.port, c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue())
			u := tlsOf(tc.cluster)
			if !tc.tls {
				require.Nil(t, u)
				return
			}
			require.NotNil(t, u)
			require.Equal(t, tc.sni, u.GetSni())
			vc := u.GetCommonTlsContext().GetValidationContext()
			require.NotNil(t, vc.GetSystemRootCerts())
			require.Equal(t, tc.sanType, vc.GetMatchTypedSubjectAltNames()[0].GetSanType())
			require.Equal(t, tc.sanValue, vc.GetMatchTypedSubjectAltNames()[0].GetMatcher().GetExact())
		})
	}

	routes := map[string]*routev3.Route{}
	for _, r := range res.Routes.GetVirtualHosts()[0].GetRoutes() {
		routes[r.GetName()] = r
	}
	sb := routes["github_sandbox"]
	require.Equal(t, "sandbox_github", sb.GetRoute().GetCluster())
	require.Equal(t, "/mcp", sb.GetRoute().GetPrefixRewrite())
	require.Equal(t, "sandbox.internal:8080", sb.GetRoute().GetHostRewriteLiteral())
	require.Equal(t, xds.RouteHeader, sb.GetMatch().GetHeaders()[0].GetName())
	gh := routes["github"]
	require.Equal(t, "/mcp/github", gh.GetMatch().GetPathSeparatedPrefix())
	require.Equal(t, "/mcp/", gh.GetRoute().GetPrefixRewrite())
	require.EqualValues(t, 300, gh.GetRoute().GetTimeout().GetSeconds())
	get := routes["github_get"]
	require.EqualValues(t, 0, get.GetRoute().GetTimeout().AsDuration())
	var per extprocv3.ExtProcPerRoute
	require.NoError(t, get.GetTypedPerFilterConfig()[xds.ExtProcFilter].UnmarshalTo(&per))
	require.Equal(t, extprocv3.ProcessingMode_BUFFERED, per.GetOverrides().GetProcessingMode().GetRequestBodyMode())
	require.Equal(t, extprocv3.ProcessingMode_STREAMED, per.GetOverrides().GetProcessingMode().GetResponseBodyMode())

	// Limits flow into the listener and the filter.
	require.EqualValues(t, 2<<20, res.Listener.GetPerConnectionBufferLimitBytes().GetValue(), "twice limits.max_body_bytes")
	ep := xds.ExternalProcessor(mustConfig(t, fullYAML), xds.Options{})
	require.EqualValues(t, 2, ep.GetMessageTimeout().GetSeconds())
	require.EqualValues(t, 300, ep.GetMaxMessageTimeout().GetSeconds())
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*config.Config, *xds.Options)
		want string
	}{
		{"bad listener", func(_ *config.Config, o *xds.Options) { o.ListenAddr = "nope" }, "listener address"},
		{"bad extproc", func(_ *config.Config, o *xds.Options) { o.ExtProcAddr = "host:0" }, "ext_proc address"},
		{"bad admin", func(_ *config.Config, o *xds.Options) { o.AdminAddr = "x" }, "admin address"},
		{"empty unix path", func(_ *config.Config, o *xds.Options) { o.ExtProcAddr = "unix://" }, "empty unix socket path"},
		{"huge body limit", func(c *config.Config, _ *xds.Options) { c.Limits.MaxBodyBytes = 1 << 40 }, "per_connection_buffer_limit_bytes"},
		{"bad server url", func(c *config.Config, _ *xds.Options) { c.Servers[0].URL = "ftp://x/" }, "servers[0].url"},
		{"bad sandbox url", func(c *config.Config, _ *xds.Options) { c.Servers[1].Sandbox = "http://" }, "servers[1].sandbox"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustConfig(t, quickstartYAML)
			var o xds.Options
			tc.mut(cfg, &o)
			_, err := xds.BuildResources(cfg, o)
			require.ErrorContains(t, err, tc.want)
			_, err = xds.BuildSnapshot(cfg, o, "v1")
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := xds.BuildResources(nil, xds.Options{})
	require.Error(t, err)
}

func TestBuildSnapshotConsistent(t *testing.T) {
	snap, err := xds.BuildSnapshot(mustConfig(t, quickstartYAML), xds.Options{}, "v7")
	require.NoError(t, err)
	require.NoError(t, snap.Consistent())
	require.Equal(t, "v7", snap.GetVersion(resource.ClusterType))
	require.Len(t, snap.GetResources(resource.ClusterType), 4)
	require.Contains(t, snap.GetResources(resource.RouteType), xds.RouteConfigName)
	require.Contains(t, snap.GetResources(resource.ListenerType), xds.ListenerName)
}

// FuzzBuildSnapshot: every config that passes config validation renders to
// a valid, consistent snapshot, and rendering never panics.
func FuzzBuildSnapshot(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:3001/mcp", "https://api.githubcopilot.com/mcp/", "https://[::1]:8443/x",
		"http://localhost", "https://10.0.0.7:8443/v1/mcp", "http://a.b/%2F?q=1", "http://h:65535/"} {
		f.Add(s, "")
		f.Add(s, "http://sandbox:1/s")
	}
	f.Fuzz(func(t *testing.T, u, sandbox string) {
		cfg := &config.Config{Servers: []config.Server{{Name: "s", URL: u, Sandbox: sandbox}}}
		cfg.ApplyDefaults()
		if cfg.Validate() != nil {
			return
		}
		snap, err := xds.BuildSnapshot(cfg, xds.Options{}, "1")
		if err != nil {
			// The only accepted refusals are URLs config accepts but Envoy
			// cannot address (e.g. port 0 or out of range).
			if !strings.Contains(err.Error(), "bad port") {
				t.Fatalf("valid config %q/%q: %v", u, sandbox, err)
			}
			return
		}
		if err := snap.Consistent(); err != nil {
			t.Fatal(err)
		}
	})
}

// A token-protected ext_proc listener is called with its bearer token.
func TestExtProcTokenInInitialMetadata(t *testing.T) {
	dir := t.TempDir()
	tok := strings.Repeat("t0ken", 8)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tok"), []byte(tok+"\n"), 0o600))
	cfg := mustConfig(t, fullYAML)
	require.Empty(t, xds.ExternalProcessor(cfg, xds.Options{}).GetGrpcService().GetInitialMetadata())
	cfg.Listen.ExtProcAuth.TokenFile = filepath.Join(dir, "tok")
	md := xds.ExternalProcessor(cfg, xds.Options{}).GetGrpcService().GetInitialMetadata()
	require.Len(t, md, 1)
	require.Equal(t, "authorization", md[0].GetKey())
	require.Equal(t, "Bearer "+tok, md[0].GetValue())
}
