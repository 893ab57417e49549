package configtest_test

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoregistry"
	istionetv1alpha3 "istio.io/api/networking/v1alpha3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/envoy/configtest"
	"github.com/portcullis-mcp/portcullis/xds"
)

func loadAll(t *testing.T, dir string) map[string][]configtest.KubeObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(envoyDir, dir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string][]configtest.KubeObject{}
	for _, f := range files {
		objs, err := configtest.LoadKube(f)
		require.NoError(t, err)
		out[filepath.Base(f)] = objs
	}
	return out
}

// processorService finds the processor's Service, Deployment and policy in
// envoy/k8s and checks that they fit together.
func processorService(t *testing.T) (*corev1.Service, *config.Config) {
	t.Helper()
	var svc *corev1.Service
	var dep *appsv1.Deployment
	cms := map[string]*corev1.ConfigMap{}
	for _, objs := range loadAll(t, "k8s") {
		for _, o := range objs {
			switch {
			case o.Service != nil && o.Service.Name == "portcullis":
				svc = o.Service
			case o.Deployment != nil && o.Deployment.Name == "portcullis":
				dep = o.Deployment
			case o.ConfigMap != nil:
				cms[o.ConfigMap.Name] = o.ConfigMap
			}
		}
	}
	require.NotNil(t, svc)
	require.NotNil(t, dep)
	require.Equal(t, svc.Namespace, dep.Namespace)

	// Service selects the Deployment's pods, which the Deployment selects.
	podLabels := dep.Spec.Template.Labels
	for k, v := range svc.Spec.Selector {
		require.Equal(t, v, podLabels[k], "service selector %s", k)
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		require.Equal(t, v, podLabels[k], "deployment selector %s", k)
	}
	require.Len(t, dep.Spec.Template.Spec.Containers, 1)
	ctr := dep.Spec.Template.Spec.Containers[0]
	named := map[string]int32{}
	for _, p := range ctr.Ports {
		named[p.Name] = p.ContainerPort
	}
	for _, p := range svc.Spec.Ports {
		_, ok := named[p.TargetPort.StrVal]
		require.True(t, ok, "service port %s targets unknown container port %q", p.Name, p.TargetPort.StrVal)
	}
	for _, pr := range []*corev1.Probe{ctr.ReadinessProbe, ctr.LivenessProbe} {
		require.NotNil(t, pr)
		_, ok := named[pr.HTTPGet.Port.StrVal]
		require.True(t, ok, "probe port %q", pr.HTTPGet.Port.StrVal)
	}

	// The --config file is a mounted ConfigMap key holding a valid policy
	// whose listeners match the container ports.
	cfgPath := flagValue(ctr.Args, "--config")
	require.NotEmpty(t, cfgPath)
	var cfg *config.Config
	for _, m := range ctr.VolumeMounts {
		if !strings.HasPrefix(cfgPath, m.MountPath+"/") {
			continue
		}
		i := slices.IndexFunc(dep.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		require.GreaterOrEqual(t, i, 0, "volume %s", m.Name)
		cmRef := dep.Spec.Template.Spec.Volumes[i].ConfigMap
		require.NotNil(t, cmRef)
		cm := cms[cmRef.Name]
		require.NotNil(t, cm, "configmap %s", cmRef.Name)
		data, ok := cm.Data[strings.TrimPrefix(cfgPath, m.MountPath+"/")]
		require.True(t, ok, "configmap %s has no key for %s", cm.Name, cfgPath)
		c, err := config.Parse([]byte(data))
		require.NoError(t, err)
		cfg = c
	}
	require.NotNil(t, cfg, "%s is not mounted", cfgPath)
	require.True(t, strings.HasSuffix(cfg.Listen.ExtProc, ":50051"))
	require.EqualValues(t, 50051, named["grpc-extproc"])
	return svc, cfg
}

func TestKubernetesManifests(t *testing.T) {
	svc, cfg := processorService(t)
	require.NotEmpty(t, cfg.Servers)
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "grpc-extproc" })
	require.GreaterOrEqual(t, i, 0)
	require.NotNil(t, svc.Spec.Ports[i].AppProtocol)
	require.Equal(t, "grpc", *svc.Spec.Ports[i].AppProtocol, "ext_proc needs HTTP/2")
}

// TestIstioEnvoyFilters: each EnvoyFilter decodes into the Istio API, inserts
// an ext_proc filter before the router, carries the same processor contract
// as the xDS rendering, and points at the Service in envoy/k8s.
func TestIstioEnvoyFilters(t *testing.T) {
	svc, cfg := processorService(t)
	wantCluster := "outbound|50051||" + svc.Name + "." + svc.Namespace + ".svc.cluster.local"
	want := xds.ExternalProcessor(cfg, xds.Options{})

	for file, objs := range loadAll(t, "istio") {
		t.Run(file, func(t *testing.T) {
			found := 0
			for _, o := range objs {
				if o.EnvoyFilter == nil {
					continue
				}
				for _, p := range o.EnvoyFilter.Spec.GetConfigPatches() {
					if p.GetApplyTo() != istionetv1alpha3.EnvoyFilter_HTTP_FILTER {
						continue
					}
					found++
					require.Equal(t, istionetv1alpha3.EnvoyFilter_Patch_INSERT_BEFORE, p.GetPatch().GetOperation())
					require.Equal(t, xds.RouterFilter, p.GetMatch().GetListener().GetFilterChain().GetFilter().GetSubFilter().GetName())
					js, err := configtest.PatchValueJSON(p)
					require.NoError(t, err)
					var hf hcmv3.HttpFilter
					require.NoError(t, protojson.UnmarshalOptions{Resolver: protoregistry.GlobalTypes}.Unmarshal(js, &hf))
					require.NoError(t, configtest.ValidateDeep(&hf))
					require.Equal(t, xds.ExtProcFilter, hf.GetName())
					var ep extprocv3.ExternalProcessor
					require.NoError(t, hf.GetTypedConfig().UnmarshalTo(&ep))
					require.Equal(t, wantCluster, ep.GetGrpcService().GetEnvoyGrpc().GetClusterName())
					for _, md := range ep.GetGrpcService().GetInitialMetadata() {
						if md.GetKey() == "x-portcullis-server" {
							_, ok := cfg.Server(md.GetValue())
							require.True(t, ok, "x-portcullis-server %q is not in the policy", md.GetValue())
						}
					}
					// Same contract as Envoy/xDS, apart from the processor's address.
					ep.GrpcService = want.GetGrpcService()
					requireSame(t, "ext_proc filter", want, &ep)
				}
			}
			if strings.HasPrefix(file, "envoyfilter") {
				require.Positive(t, found, "no HTTP_FILTER patch")
			}
		})
	}
}

// TestIstioRoutes: the gateway VirtualService routes exactly the policy's
// servers, each to its upstream host, port and path, like the xDS routes.
func TestIstioRoutes(t *testing.T) {
	_, cfg := processorService(t)
	objs, err := configtest.LoadKube(filepath.Join(envoyDir, "istio", "gateway-routes.yaml"))
	require.NoError(t, err)
	var gw, vs int
	routed := map[string]bool{}
	for _, o := range objs {
		if o.Gateway != nil {
			gw++
			require.NotEmpty(t, o.Gateway.Spec.GetServers())
			continue
		}
		require.NotNil(t, o.VirtualService, "unexpected %s", o.Kind)
		vs++
		for _, r := range o.VirtualService.Spec.GetHttp() {
			require.Len(t, r.GetMatch(), 1, "route %s", r.GetName())
			re := r.GetMatch()[0].GetUri().GetRegex()
			name, ok := strings.CutPrefix(re, "^/mcp/")
			require.True(t, ok, "route %s: uri regex %q", r.GetName(), re)
			name, ok = strings.CutSuffix(name, "(/.*)?$")
			require.True(t, ok, "route %s: uri regex %q must stop at a path segment", r.GetName(), re)
			srv, ok := cfg.Server(name)
			require.True(t, ok, "route %s routes %q, which the policy does not allow", r.GetName(), name)
			u, err := url.Parse(srv.URL)
			require.NoError(t, err)
			require.Equal(t, u.Path, r.GetRewrite().GetUriRegexRewrite().GetRewrite())
			require.Equal(t, "^/mcp/"+name, r.GetRewrite().GetUriRegexRewrite().GetMatch())
			require.Equal(t, u.Host, r.GetRewrite().GetAuthority())
			require.Len(t, r.GetRoute(), 1)
			d := r.GetRoute()[0].GetDestination()
			require.Equal(t, u.Hostname(), d.GetHost())
			require.Equal(t, u.Port(), strconv.FormatUint(uint64(d.GetPort().GetNumber()), 10))
			if r.GetMatch()[0].GetMethod().GetExact() == "GET" {
				require.EqualValues(t, 0, r.GetTimeout().AsDuration(), "GET streams need no timeout")
			} else {
				require.EqualValues(t, 300, r.GetTimeout().GetSeconds())
			}
			routed[name] = true
		}
	}
	require.Equal(t, 1, gw)
	require.Equal(t, 1, vs)
	for _, s := range cfg.Servers {
		require.True(t, routed[s.Name], "policy server %s has no gateway route", s.Name)
	}
}

func TestLoadKubeStrict(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {selectr: {}}\n", "selectr"},
		{"wrong apiVersion", "apiVersion: apps/v2\nkind: Deployment\nmetadata: {name: a}\n", "apiVersion"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "unsupported kind"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "metadata.name"},
		{"istio spec typo", "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: a}\nspec: {configPatchez: []}\n", "configPatchez"},
		{"istio enum typo", "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: a}\nspec: {configPatches: [{applyTo: HTTP_FILTR}]}\n", "HTTP_FILTR"},
		{"empty", "", "no documents"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "m.yaml")
			require.NoError(t, os.WriteFile(p, []byte(tc.doc), 0o600))
			_, err := configtest.LoadKube(p)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
