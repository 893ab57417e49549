package gateway_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/internal/redisopt"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
)

// TestFaultSentinelFailover: two gateway replicas reach Redis through a
// Sentinel (a master, one replica). A surrogate is minted; the master is
// killed. Until the Sentinel promotes the replica every call that needs
// shared state is refused and nothing reaches the upstream; after the
// failover both gateways follow the new master by themselves and the
// surrogate minted before the failover is restored (the state survived).
//
// The gap is ordered by the test, not by timing: the Sentinel's automatic
// failover is pushed out (down-after-milliseconds 60s), and the test
// triggers the failover with SENTINEL FAILOVER after checking the gap.
func TestFaultSentinelFailover(t *testing.T) {
	const name = "pcmaster"
	ctx := context.Background()
	up := &faultUpstream{}
	var replica *redistest.Server
	var sentinelAddr string
	rs := startReplicasWith(t, 2, up, func(c *config.Config) {
		c.State.Redis.Address = ""
		c.State.Redis.Sentinel = redisopt.Sentinel{Master: name, Addresses: []string{sentinelAddr}}
	}, func(rs *replicaSet) {
		_, port, _ := net.SplitHostPort(rs.redis.Addr)
		replica = redistest.Start(t, nil, "--replicaof", "127.0.0.1", port)
		waitInfo(t, replica.Client(), "replication", "master_link_status:up")
		sentinelAddr = redistest.StartSentinel(t, name, rs.redis.Addr)
		sc := redis.NewSentinelClient(&redis.Options{Addr: sentinelAddr})
		t.Cleanup(func() { _ = sc.Close() })
		if err := sc.Set(ctx, name, "down-after-milliseconds", "60000").Err(); err != nil {
			t.Fatalf("sentinel set: %v", err)
		}
		eventually(t, "the Sentinel to know the replica", func() bool {
			reps, err := sc.Replicas(ctx, name).Result()
			return err == nil && len(reps) == 1 && !strings.Contains(reps[0]["flags"], "disconnected")
		})
	})

	got := callTool(t, rs.url(0, "tools"), "s1", 1, "pii", "")
	if strings.Contains(got, "jane.doe") || !strings.Contains(got, "[EMAIL_1]") {
		t.Fatalf("before the failover: %s", got)
	}
	// The surrogate is on the replica before the master dies.
	if n, err := rs.redis.Client().Do(ctx, "WAIT", 1, 10000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica: %d %v", n, err)
	}

	rs.redis.Stop()
	for i, gw := range []int{0, 1} {
		got := callTool(t, rs.url(gw, "tools"), "s1", 10+i, "echo", `,"arguments":{"to":"[EMAIL_1]"}`)
		if !strings.Contains(got, "shared surrogate vault (state.redis) is unavailable") {
			t.Fatalf("replica %d during the gap: %s", gw, got)
		}
	}
	if calls := up.received(); len(calls) != 1 {
		t.Fatalf("upstream received %q during the gap", calls)
	}

	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinelAddr})
	defer sc.Close()
	if err := sc.Failover(ctx, name).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	eventually(t, "the Sentinel to name the replica as master", func() bool {
		a, err := sc.GetMasterAddrByName(ctx, name).Result()
		return err == nil && len(a) == 2 && net.JoinHostPort(a[0], a[1]) == replica.Addr
	})
	// Each gateway follows the new master by itself; until it does, calls
	// are refused, never forwarded.
	for i, gw := range []int{0, 1} {
		n := 100 * (i + 1)
		eventually(t, "the gateway to follow the new master", func() bool {
			n++
			before := len(up.received())
			got := callTool(t, rs.url(gw, "tools"), "s1", n, "echo", `,"arguments":{"to":"[EMAIL_1]"}`)
			if strings.Contains(got, "shared surrogate vault (state.redis) is unavailable") {
				if len(up.received()) != before {
					t.Fatalf("replica %d forwarded a refused call", gw)
				}
				return false
			}
			if !strings.Contains(got, "echo") {
				t.Fatalf("replica %d after the failover: %s", gw, got)
			}
			return true
		})
	}
	// The surrogate minted before the failover was restored from the new
	// master: the upstream got the clear value, the client never did.
	calls := up.received()
	if len(calls) != 3 {
		t.Fatalf("upstream received %q, want the pii call and one echo per gateway", calls)
	}
	for _, c := range calls[1:] {
		if !strings.Contains(c, "jane.doe@acme.example") {
			t.Fatalf("surrogate not restored after the failover: upstream got %q", c)
		}
	}
}

// waitInfo waits until INFO section contains want (readiness polling).
func waitInfo(t *testing.T, c *redis.Client, section, want string) {
	t.Helper()
	eventually(t, section+" "+want, func() bool {
		s, err := c.Info(context.Background(), section).Result()
		return err == nil && strings.Contains(s, want)
	})
}
