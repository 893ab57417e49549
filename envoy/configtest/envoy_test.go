package configtest_test

import (
	"path/filepath"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/envoy/configtest"
	"github.com/portcullis-mcp/portcullis/xds"
)

// envoyDir is the directory holding the shipped Envoy configs.
const envoyDir = ".."

// TestShippedEnvoyConfigsValidate decodes every envoy/*.yaml strictly into a
// Bootstrap and validates it deeply.
func TestShippedEnvoyConfigsValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(envoyDir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := configtest.LoadBootstrap(f)
			require.NoError(t, err)
		})
	}
}

func hcmOf(t *testing.T, b *bootstrapv3.Bootstrap) *hcmv3.HttpConnectionManager {
	t.Helper()
	require.Len(t, b.GetStaticResources().GetListeners(), 1)
	l := b.GetStaticResources().GetListeners()[0]
	require.Len(t, l.GetFilterChains(), 1)
	var hcm hcmv3.HttpConnectionManager
	require.NoError(t, l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm))
	return &hcm
}

// TestStaticEnvoyMatchesContract pins the parts of envoy.yaml the processor
// relies on.
func TestStaticEnvoyMatchesContract(t *testing.T) {
	b, err := configtest.LoadBootstrap(filepath.Join(envoyDir, "envoy.yaml"))
	require.NoError(t, err)
	l := b.GetStaticResources().GetListeners()[0]
	require.EqualValues(t, 10000, l.GetAddress().GetSocketAddress().GetPortValue())
	require.EqualValues(t, 8<<20, l.GetPerConnectionBufferLimitBytes().GetValue())

	hcm := hcmOf(t, b)
	require.Len(t, hcm.GetHttpFilters(), 2)
	require.Equal(t, "envoy.filters.http.ext_proc", hcm.GetHttpFilters()[0].GetName())
	require.Equal(t, "envoy.filters.http.router", hcm.GetHttpFilters()[1].GetName())
	var ep extprocv3.ExternalProcessor
	require.NoError(t, hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(&ep))
	require.False(t, ep.GetFailureModeAllow())
	require.True(t, ep.GetAllowModeOverride())
	require.Equal(t, "portcullis_extproc", ep.GetGrpcService().GetEnvoyGrpc().GetClusterName())
	pm := ep.GetProcessingMode()
	require.Equal(t, extprocv3.ProcessingMode_BUFFERED, pm.GetRequestBodyMode())
	require.Equal(t, extprocv3.ProcessingMode_BUFFERED, pm.GetResponseBodyMode())
	require.Len(t, ep.GetAllowedOverrideModes(), 1)
	om := ep.GetAllowedOverrideModes()[0]
	require.Equal(t, extprocv3.ProcessingMode_BUFFERED, om.GetRequestBodyMode())
	require.Equal(t, extprocv3.ProcessingMode_STREAMED, om.GetResponseBodyMode())
	require.Equal(t, extprocv3.ProcessingMode_SKIP, om.GetRequestTrailerMode())
	require.Equal(t, extprocv3.ProcessingMode_SKIP, om.GetResponseTrailerMode())
	require.EqualValues(t, 5, ep.GetMessageTimeout().GetSeconds())
	require.EqualValues(t, 300, ep.GetMaxMessageTimeout().GetSeconds())
	require.True(t, ep.GetMutationRules().GetDisallowIsError().GetValue())
	require.False(t, ep.GetMutationRules().GetAllowAllRouting().GetValue())
	require.Contains(t, ep.GetRequestAttributes(), "source.address")

	// Every cluster a route names exists.
	clusters := map[string]bool{}
	for _, c := range b.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = true
	}
	require.True(t, clusters["portcullis_extproc"])
	for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			if c := r.GetRoute().GetCluster(); c != "" {
				require.True(t, clusters[c], "route %s names unknown cluster %s", r.GetName(), c)
			}
		}
	}
}

// TestDecodeRejectsTypos proves the loader is strict: each mutation of a
// valid config must fail.
func TestDecodeRejectsTypos(t *testing.T) {
	const good = `
static_resources:
  clusters:
  - name: c
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment:
      cluster_name: c
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } }
`
	_, err := configtest.DecodeBootstrap([]byte(good))
	require.NoError(t, err)
	cases := []struct{ name, from, to, want string }{
		{"unknown field", "connect_timeout", "connect_timeut", "connect_timeut"},
		{"bad enum", "type: STATIC", "type: STATICK", "STATICK"},
		{"unknown Any type", "upstreams.http.v3.HttpProtocolOptions\n", "upstreams.http.v3.HttpProtocolOptionz\n", "HttpProtocolOptionz"},
		{"unknown field inside Any", "explicit_http_config", "explicit_http_cfg", "explicit_http_cfg"},
		{"PGV rule violated", "port_value: 1 ", "port_value: 70000 ", "PortValue"},
		{"PGV rule inside Any", "http2_protocol_options: {}", "http2_protocol_options: {max_concurrent_streams: 0}", "(envoy.extensions.upstreams.http.v3.HttpProtocolOptions)"},
		{"empty cluster name", "name: c\n", "name: \"\"\n", "Name"},
		{"bad yaml", "endpoints:", "endpoints: [", "yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.from, tc.to, 1)
			require.NotEqual(t, good, bad, "mutation did not apply")
			_, err := configtest.DecodeBootstrap([]byte(bad))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestBootstrapXDS: the ADS bootstrap names the xDS server's default node id
// and reaches ADS over HTTP/2 on the default port.
func TestBootstrapXDS(t *testing.T) {
	b, err := configtest.LoadBootstrap(filepath.Join(envoyDir, "bootstrap-xds.yaml"))
	require.NoError(t, err)
	require.Equal(t, xds.DefaultNodeID, b.GetNode().GetId())
	ads := b.GetDynamicResources().GetAdsConfig()
	require.Len(t, ads.GetGrpcServices(), 1)
	name := ads.GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName()
	require.NotNil(t, b.GetDynamicResources().GetCdsConfig().GetAds())
	require.NotNil(t, b.GetDynamicResources().GetLdsConfig().GetAds())
	var found bool
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() != name {
			continue
		}
		found = true
		require.Contains(t, c.GetTypedExtensionProtocolOptions(), "envoy.extensions.upstreams.http.v3.HttpProtocolOptions", "ADS needs HTTP/2")
		require.EqualValues(t, 18000, c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue())
	}
	require.True(t, found, "ADS cluster %s missing", name)
}
