package xds_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/xds"
)

// TestConcurrentUpdatesConverge: reloads racing with a subscribed, ACKing
// client end with the client on the server's final version for every type.
func TestConcurrentUpdatesConverge(t *testing.T) {
	srv, addr := startServer(t, xds.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfgs := []string{quickstartYAML, reloadYAML}
	require.NoError(t, srv.Update(mustConfig(t, cfgs[0])))

	c := newADSClient(t, ctx, addr, xds.DefaultNodeID)
	routes := []string{xds.RouteConfigName}
	c.send(resource.ClusterType, "", "", nil, nil)
	c.send(resource.ListenerType, "", "", nil, nil)
	c.send(resource.RouteType, "", "", routes, nil)

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if err := srv.Update(mustConfig(t, cfgs[(g+i)%2])); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	final := ""
	latest := map[string]string{}
	converged := func() bool {
		return final != "" && latest[resource.ClusterType] == final &&
			latest[resource.ListenerType] == final && latest[resource.RouteType] == final
	}
	timeout := time.After(30 * time.Second)
	for !converged() {
		select {
		case <-done:
			final, done = srv.Version(), nil
		case r := <-c.recv:
			latest[r.GetTypeUrl()] = r.GetVersionInfo()
			var names []string
			if r.GetTypeUrl() == resource.RouteType {
				names = routes
			}
			c.ack(r, names)
		case err := <-c.errs:
			t.Fatalf("ads stream: %v", err)
		case <-timeout:
			t.Fatalf("not converged on %q: %v", final, latest)
		}
	}
	require.Regexp(t, `^41-`, final, "41 successful updates")
}
