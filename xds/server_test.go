package xds_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/xds"
)

// adsClient plays Envoy's side of one ADS stream.
type adsClient struct {
	t        *testing.T
	stream   discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node     *corev3.Node
	recv     chan *discoveryv3.DiscoveryResponse
	errs     chan error
	sentNode bool
}

func newADSClient(t *testing.T, ctx context.Context, addr, nodeID string) *adsClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	require.NoError(t, err)
	c := &adsClient{t: t, stream: stream, node: &corev3.Node{Id: nodeID, Cluster: "portcullis"},
		recv: make(chan *discoveryv3.DiscoveryResponse, 16), errs: make(chan error, 1)}
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				c.errs <- err
				return
			}
			c.recv <- r
		}
	}()
	return c
}

// send sends a request; like Envoy with set_node_on_first_message_only the
// node goes on the first message only.
func (c *adsClient) send(typeURL, version, nonce string, names []string, nack error) {
	c.t.Helper()
	req := &discoveryv3.DiscoveryRequest{TypeUrl: typeURL, VersionInfo: version, ResponseNonce: nonce, ResourceNames: names}
	if !c.sentNode {
		req.Node, c.sentNode = c.node, true
	}
	if nack != nil {
		req.ErrorDetail = &status.Status{Code: 3, Message: nack.Error()}
	}
	require.NoError(c.t, c.stream.Send(req))
}

func (c *adsClient) next() *discoveryv3.DiscoveryResponse {
	c.t.Helper()
	select {
	case r := <-c.recv:
		return r
	case err := <-c.errs:
		c.t.Fatalf("ads stream: %v", err)
	case <-time.After(10 * time.Second):
		c.t.Fatal("no discovery response within 10s")
	}
	return nil
}

// expect receives the next response, which must be of typeURL.
func (c *adsClient) expect(typeURL string) *discoveryv3.DiscoveryResponse {
	c.t.Helper()
	r := c.next()
	require.Equal(c.t, typeURL, r.GetTypeUrl())
	return r
}

func (c *adsClient) ack(r *discoveryv3.DiscoveryResponse, names []string) {
	c.send(r.GetTypeUrl(), r.GetVersionInfo(), r.GetNonce(), names, nil)
}

func decodeClusters(t *testing.T, r *discoveryv3.DiscoveryResponse) []*clusterv3.Cluster {
	var out []*clusterv3.Cluster
	for _, a := range r.GetResources() {
		var c clusterv3.Cluster
		require.NoError(t, a.UnmarshalTo(&c))
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *clusterv3.Cluster) int { return compare(a.GetName(), b.GetName()) })
	return out
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortedClusters(r *xds.Resources) []*clusterv3.Cluster {
	out := slices.Clone(r.Clusters)
	slices.SortFunc(out, func(a, b *clusterv3.Cluster) int { return compare(a.GetName(), b.GetName()) })
	return out
}

func requireProtoEqual(t *testing.T, want, got proto.Message) {
	t.Helper()
	if !proto.Equal(want, got) {
		t.Fatalf("resource differs:\nwant %s\n got %s", stableJSON(t, want), stableJSON(t, got))
	}
}

// subscribe performs Envoy's start-up sequence (CDS, then LDS, then RDS for
// the listener's route config), ACKing each, and checks every resource
// against want.
func subscribe(t *testing.T, c *adsClient, want *xds.Resources) (cds, lds, rds *discoveryv3.DiscoveryResponse) {
	t.Helper()
	c.send(resource.ClusterType, "", "", nil, nil)
	cds = c.expect(resource.ClusterType)
	got := decodeClusters(t, cds)
	wantC := sortedClusters(want)
	require.Len(t, got, len(wantC))
	for i := range wantC {
		requireProtoEqual(t, wantC[i], got[i])
	}
	c.ack(cds, nil)

	c.send(resource.ListenerType, "", "", nil, nil)
	lds = c.expect(resource.ListenerType)
	require.Len(t, lds.GetResources(), 1)
	var l listenerv3.Listener
	require.NoError(t, lds.GetResources()[0].UnmarshalTo(&l))
	requireProtoEqual(t, want.Listener, &l)
	c.ack(lds, nil)

	names := []string{xds.RouteConfigName}
	c.send(resource.RouteType, "", "", names, nil)
	rds = c.expect(resource.RouteType)
	require.Len(t, rds.GetResources(), 1)
	var rc routev3.RouteConfiguration
	require.NoError(t, rds.GetResources()[0].UnmarshalTo(&rc))
	requireProtoEqual(t, want.Routes, &rc)
	c.ack(rds, names)
	require.Equal(t, cds.GetVersionInfo(), lds.GetVersionInfo())
	require.Equal(t, cds.GetVersionInfo(), rds.GetVersionInfo())
	return cds, lds, rds
}

const reloadYAML = `
listen: {proxy: 127.0.0.1:10000, extproc: 127.0.0.1:50051, admin: 127.0.0.1:9090, xds: 127.0.0.1:18000}
servers:
  - name: files
    url: http://127.0.0.1:3001/mcp
    tools: {allow: ["*"]}
  - name: docs
    url: https://docs.example.com/mcp
    sandbox: http://127.0.0.1:3009/mcp
    tools: {allow: ["search"]}
`

func startServer(t *testing.T, opts xds.Options) (*xds.Server, string) {
	t.Helper()
	srv := xds.New(opts, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return srv, lis.Addr().String()
}

func TestADSSubscribeReloadNack(t *testing.T) {
	srv, addr := startServer(t, xds.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	quick := mustConfig(t, quickstartYAML)
	require.Equal(t, "", srv.Version())
	require.NoError(t, srv.Update(quick))
	v1 := srv.Version()
	require.Regexp(t, `^1-[0-9a-f]{12}$`, v1)

	want1, err := xds.BuildResources(quick, xds.Options{})
	require.NoError(t, err)
	c := newADSClient(t, ctx, addr, xds.DefaultNodeID)
	cds, _, _ := subscribe(t, c, want1)
	require.Equal(t, v1, cds.GetVersionInfo())

	// A config that fails validation pushes nothing and keeps the version.
	bad := mustConfig(t, quickstartYAML)
	bad.Servers = append(bad.Servers, config.Server{Name: "Bad Name", URL: "http://127.0.0.1:1/"})
	require.ErrorContains(t, srv.Update(bad), "servers[2].name")
	require.Equal(t, v1, srv.Version())

	// Reload: "web" removed, "docs" (https + sandbox) added. Every type is
	// pushed again under the new version.
	reload := mustConfig(t, reloadYAML)
	require.NoError(t, srv.Update(reload))
	v2 := srv.Version()
	require.Regexp(t, `^2-[0-9a-f]{12}$`, v2)
	want2, err := xds.BuildResources(reload, xds.Options{})
	require.NoError(t, err)
	got := map[string]*discoveryv3.DiscoveryResponse{}
	for len(got) < 3 {
		r := c.next()
		require.Equal(t, v2, r.GetVersionInfo(), "first push after the failed update must be the reload")
		got[r.GetTypeUrl()] = r
	}
	clusters := decodeClusters(t, got[resource.ClusterType])
	var names []string
	for i, cl := range clusters {
		names = append(names, cl.GetName())
		requireProtoEqual(t, sortedClusters(want2)[i], cl)
	}
	require.Equal(t, []string{"mcp_docs", "mcp_files", "portcullis_admin", "portcullis_extproc", "sandbox_docs"}, names)
	var rc routev3.RouteConfiguration
	require.NoError(t, got[resource.RouteType].GetResources()[0].UnmarshalTo(&rc))
	requireProtoEqual(t, want2.Routes, &rc)
	for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
		require.NotContains(t, r.GetName(), "web", "removed server still routed")
	}
	require.Equal(t, []string{"oauth_protected_resource", "oauth_authorization_server", "openid_configuration", "oauth_upstream", "files_get", "files", "docs_sandbox", "docs_get", "docs", "unknown_server"},
		routeNames(want2))

	// Envoy rejects the new clusters (NACK: old version, new nonce, error).
	c.send(resource.ClusterType, v1, got[resource.ClusterType].GetNonce(), nil, errString("cluster rejected"))
	c.ack(got[resource.ListenerType], nil)
	c.ack(got[resource.RouteType], []string{xds.RouteConfigName})
	require.Eventually(t, func() bool { return srv.NACKs() == 1 }, 10*time.Second, 10*time.Millisecond)

	// The next good update is pushed to the NACKing client.
	require.NoError(t, srv.Update(quick))
	v3 := srv.Version()
	require.Regexp(t, `^3-[0-9a-f]{12}$`, v3)
	require.Equal(t, v1[2:], v3[2:], "same content, same hash")
	// The rejected version is not re-sent (no NACK loop): the first
	// responses after the NACK are the three v3 pushes.
	seen := map[string]bool{}
	for len(seen) < 3 {
		r := c.next()
		require.Equal(t, v3, r.GetVersionInfo(), "type %s", r.GetTypeUrl())
		seen[r.GetTypeUrl()] = true
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestADSWaitsForSnapshotAndNodeID: before the first Update a subscriber gets
// nothing; a client with another node id never sees this node's snapshot.
func TestADSWaitsForSnapshotAndNodeID(t *testing.T) {
	srv, addr := startServer(t, xds.Options{NodeID: "gw-a"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	a := newADSClient(t, ctx, addr, "gw-a")
	other := newADSClient(t, ctx, addr, "gw-b")
	a.send(resource.ClusterType, "", "", nil, nil)
	other.send(resource.ClusterType, "", "", nil, nil)

	cfg := mustConfig(t, quickstartYAML)
	require.NoError(t, srv.Update(cfg))
	r := a.expect(resource.ClusterType)
	require.Equal(t, srv.Version(), r.GetVersionInfo())
	require.Len(t, r.GetResources(), 4)
	// gw-a's update has been delivered; gw-b, subscribed earlier, must still
	// have nothing queued.
	select {
	case r := <-other.recv:
		t.Fatalf("node gw-b received %s", r.GetVersionInfo())
	default:
	}
}

func TestUpdateNilAndServeStops(t *testing.T) {
	srv := xds.New(xds.Options{}, nil)
	require.Error(t, srv.Update(nil))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, srv.Serve(ctx, lis))
}
