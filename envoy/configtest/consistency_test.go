package configtest_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/envoy/configtest"
	"github.com/portcullis-mcp/portcullis/xds"
)

// canon renders a message (Any payloads expanded) as compact JSON, so two
// messages built differently compare by content.
func canon(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.Marshal(m)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, b))
	return buf.String()
}

func requireSame(t *testing.T, what string, want, got proto.Message) {
	t.Helper()
	w, g := canon(t, want), canon(t, got)
	if w != g {
		i := 0
		for i < len(w) && i < len(g) && w[i] == g[i] {
			i++
		}
		lo := max(0, i-120)
		t.Fatalf("%s differs from the xDS rendering at byte %d:\nxds:    …%s\nstatic: …%s", what, i, w[lo:min(len(w), i+120)], g[lo:min(len(g), i+120)])
	}
}

// splitListener separates a listener's HCM from the rest.
func splitListener(t *testing.T, l *listenerv3.Listener) (*listenerv3.Listener, *hcmv3.HttpConnectionManager) {
	t.Helper()
	l = proto.Clone(l).(*listenerv3.Listener)
	require.Len(t, l.GetFilterChains(), 1)
	require.Len(t, l.GetFilterChains()[0].GetFilters(), 1)
	var hcm hcmv3.HttpConnectionManager
	require.NoError(t, l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm))
	l.FilterChains = nil
	return l, &hcm
}

// requireStaticMatchesXDS asserts that a static bootstrap serves exactly
// what the xDS server pushes for cfg: same clusters, listener, filter chain
// and routes (inline route_config instead of RDS).
func requireStaticMatchesXDS(t *testing.T, b *bootstrapv3.Bootstrap, cfg *config.Config, opts xds.Options) {
	t.Helper()
	res, err := xds.BuildResources(cfg, opts)
	require.NoError(t, err)

	byName := func(cs []*clusterv3.Cluster) []*clusterv3.Cluster {
		cs = slices.Clone(cs)
		slices.SortFunc(cs, func(a, b *clusterv3.Cluster) int { return strings.Compare(a.GetName(), b.GetName()) })
		return cs
	}
	want, got := byName(res.Clusters), byName(b.GetStaticResources().GetClusters())
	var wn, gn []string
	for _, c := range want {
		wn = append(wn, c.GetName())
	}
	for _, c := range got {
		gn = append(gn, c.GetName())
	}
	require.Equal(t, wn, gn, "cluster names")
	for i := range want {
		requireSame(t, "cluster "+want[i].GetName(), want[i], got[i])
	}

	require.Len(t, b.GetStaticResources().GetListeners(), 1)
	wl, whcm := splitListener(t, res.Listener)
	gl, ghcm := splitListener(t, b.GetStaticResources().GetListeners()[0])
	requireSame(t, "listener", wl, gl)
	require.Equal(t, xds.RouteConfigName, whcm.GetRds().GetRouteConfigName())
	require.NotNil(t, ghcm.GetRouteConfig(), "static config must carry its routes inline")
	requireSame(t, "route configuration", res.Routes, ghcm.GetRouteConfig())
	whcm.RouteSpecifier, ghcm.RouteSpecifier = nil, nil
	requireSame(t, "http connection manager", whcm, ghcm)
}

// TestStaticEnvoyMatchesXDS: envoy/envoy.yaml is what the xDS server pushes
// for the quickstart config, so the two deployment modes cannot drift.
func TestStaticEnvoyMatchesXDS(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "..", "examples", "quickstart", "portcullis.yaml"))
	require.NoError(t, err)
	b, err := configtest.LoadBootstrap(filepath.Join(envoyDir, "envoy.yaml"))
	require.NoError(t, err)
	requireStaticMatchesXDS(t, b, cfg, xds.Options{})
}
