package configtest_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoregistry"
	istionetv1alpha3 "istio.io/api/networking/v1alpha3"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/envoy/configtest"
	"github.com/portcullis-mcp/portcullis/xds"
)

// Issue 11 #1, #16, #17 in the shipped Envoy and Istio configs: what the
// embedded data plane enforces in code, the configs must enforce too.

// requireHardenedHCM: paths are normalised and escaped slashes refused
// before routing and ext_proc, and nothing decompresses before ext_proc.
func requireHardenedHCM(t *testing.T, hcm *hcmv3.HttpConnectionManager) {
	t.Helper()
	require.True(t, hcm.GetNormalizePath().GetValue(), "normalize_path")
	require.True(t, hcm.GetMergeSlashes(), "merge_slashes")
	require.Equal(t, hcmv3.HttpConnectionManager_REJECT_REQUEST, hcm.GetPathWithEscapedSlashesAction(), "path_with_escaped_slashes_action")
	for _, f := range hcm.GetHttpFilters() {
		if f.GetName() == xds.ExtProcFilter {
			break
		}
		require.NotContains(t, f.GetName(), "decompressor", "a decompressor before ext_proc")
	}
}

// requireHardenedRoutes: no upstream is asked for a compressed body, and no
// route lets a request body stream upstream unprocessed.
func requireHardenedRoutes(t *testing.T, rc *routev3.RouteConfiguration) {
	t.Helper()
	require.NotEmpty(t, rc.GetVirtualHosts())
	for _, vh := range rc.GetVirtualHosts() {
		require.Contains(t, vh.GetRequestHeadersToRemove(), "accept-encoding", "virtual host %s", vh.GetName())
		for _, r := range vh.GetRoutes() {
			a, ok := r.GetTypedPerFilterConfig()[xds.ExtProcFilter]
			if !ok {
				continue
			}
			var per extprocv3.ExtProcPerRoute
			require.NoError(t, a.UnmarshalTo(&per))
			if per.GetDisabled() {
				continue
			}
			if m := per.GetOverrides().GetProcessingMode(); m != nil {
				require.NotEqual(t, extprocv3.ProcessingMode_NONE, m.GetRequestBodyMode(), "route %s streams request bodies uninspected", r.GetName())
			}
		}
	}
}

func TestEnvoyConfigsCloseBypasses(t *testing.T) {
	for _, f := range []string{"envoy.yaml", filepath.Join("compose", "envoy.yaml")} {
		t.Run(f, func(t *testing.T) {
			b, err := configtest.LoadBootstrap(filepath.Join(envoyDir, f))
			require.NoError(t, err)
			hcm := hcmOf(t, b)
			requireHardenedHCM(t, hcm)
			requireHardenedRoutes(t, hcm.GetRouteConfig())
		})
	}
	t.Run("xds", func(t *testing.T) {
		cfg, err := config.Load(filepath.Join("..", "..", "examples", "quickstart", "portcullis.yaml"))
		require.NoError(t, err)
		res, err := xds.BuildResources(cfg, xds.Options{})
		require.NoError(t, err)
		_, hcm := splitListener(t, res.Listener)
		requireHardenedHCM(t, hcm)
		requireHardenedRoutes(t, res.Routes)
	})
}

func TestIstioConfigsCloseBypasses(t *testing.T) {
	un := protojson.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}
	for file, objs := range loadAll(t, "istio") {
		t.Run(file, func(t *testing.T) {
			var hcmPatched, vhPatched bool
			for _, o := range objs {
				if o.VirtualService != nil {
					for _, r := range o.VirtualService.Spec.GetHttp() {
						require.Contains(t, r.GetHeaders().GetRequest().GetRemove(), "accept-encoding", "route %s", r.GetName())
					}
				}
				if o.EnvoyFilter == nil {
					continue
				}
				for _, p := range o.EnvoyFilter.Spec.GetConfigPatches() {
					js, err := configtest.PatchValueJSON(p)
					require.NoError(t, err)
					switch p.GetApplyTo() {
					case istionetv1alpha3.EnvoyFilter_NETWORK_FILTER:
						var f listenerv3.Filter
						require.NoError(t, un.Unmarshal(js, &f))
						var hcm hcmv3.HttpConnectionManager
						require.NoError(t, f.GetTypedConfig().UnmarshalTo(&hcm))
						// A MERGE patch is partial: strict decoding, no deep validation.
						requireHardenedHCM(t, &hcm)
						hcmPatched = true
					case istionetv1alpha3.EnvoyFilter_VIRTUAL_HOST:
						var vh routev3.VirtualHost
						require.NoError(t, un.Unmarshal(js, &vh))
						require.True(t, slices.Contains(vh.GetRequestHeadersToRemove(), "accept-encoding"))
						vhPatched = true
					}
				}
			}
			if strings.HasPrefix(file, "envoyfilter") {
				require.True(t, hcmPatched, "no path-normalisation patch")
				require.True(t, vhPatched, "no accept-encoding patch")
			}
		})
	}
}
