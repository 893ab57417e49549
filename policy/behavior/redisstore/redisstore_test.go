package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/internal/redisopt"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
	"github.com/portcullis-mcp/portcullis/policy/behavior/redisstore"
	"github.com/portcullis-mcp/portcullis/policy/behavior/storetest"
)

// startRedis runs a private redis-server for the test (redistest: skipped
// without the binary unless PORTCULLIS_REQUIRE_REDIS=1, as in CI) and
// returns a client for it.
func startRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	return redistest.Start(tb, nil).Client()
}

var prefixN atomic.Int64

func TestRedisStoreConformance(t *testing.T) {
	c := startRedis(t)
	storetest.Run(t, func(*testing.T) behavior.Store {
		return redisstore.New(c, fmt.Sprintf("t%d:", prefixN.Add(1)))
	}, true)
}

func TestRedisStoreErrorsWrapped(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	s := redisstore.New(c, "x:")
	ctx := context.Background()
	err := s.Add(ctx, "k", []int64{1}, make([]int64, 1), time.Second)
	require.ErrorContains(t, err, `redis add "k"`)
	_, err = s.Get(ctx, "k")
	require.ErrorContains(t, err, `redis get "k"`)
	// Scores fail open on a dead store; pins fail closed.
	e := behavior.New(behavior.Config{}, s, nil)
	v := e.OnCall(ctx, behavior.Call{Agent: "a", Server: "s", Tool: "t"})
	require.Zero(t, v.Score)
	require.Equal(t, behavior.ActionBlock, v.Action)
	require.Equal(t, "pinning:unavailable", v.Rule)
	require.Positive(t, e.StoreErrors())
	// Batches report every op's error.
	ops := []behavior.Op{{Kind: behavior.OpGet, Key: "a"}, {Kind: behavior.OpSetAdd, Key: "b", Member: "m"}}
	require.ErrorContains(t, behavior.Do(ctx, s, ops), "redis")
	for _, op := range ops {
		require.Error(t, op.Err)
	}
}

func TestRedisTTLPersist(t *testing.T) {
	c := startRedis(t)
	s := redisstore.New(c, "ttl:")
	ctx := context.Background()
	require.NoError(t, s.Put(ctx, "pin", []byte("x"), 0))
	require.Equal(t, time.Duration(-1), c.TTL(ctx, "ttl:pin").Val(), "ttl 0 persists")
	out := make([]int64, 1)
	require.NoError(t, s.Add(ctx, "w", []int64{1}, out, time.Minute))
	ttl := c.TTL(ctx, "ttl:w").Val()
	require.Greater(t, ttl, 50*time.Second)
	_, err := s.SetAdd(ctx, "s", "m", 10, time.Hour)
	require.NoError(t, err)
	require.Greater(t, c.TTL(ctx, "ttl:s").Val(), 59*time.Minute)
}

// BenchmarkRedisCall is one call's update and score (OnCall + OnResult)
// through a private redis-server on loopback, next to the memory store.
func BenchmarkRedisCall(b *testing.B) {
	args := []byte(`{"path":"/srv/public/reports/q3.csv"}`)
	ctx := context.Background()
	run := func(b *testing.B, s behavior.Store) {
		e := behavior.New(behavior.Config{EgressTools: []string{"send_email"}, RateLimits: []behavior.RateLimit{{Scope: behavior.ScopeAgent, Limit: 1 << 30}}}, s, nil)
		c := behavior.Call{Agent: "a", Session: "s", Server: "files", Tool: "read_file", Args: args}
		r := behavior.Result{Agent: "a", Session: "s", Server: "files", Tool: "read_file", Bytes: 100}
		b.ReportAllocs()
		for b.Loop() {
			e.OnCall(ctx, c)
			e.OnResult(ctx, r)
		}
		if e.StoreErrors() != 0 {
			b.Fatalf("%d store errors", e.StoreErrors())
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, behavior.NewMemoryStore(behavior.MemoryOptions{})) })
	b.Run("redis", func(b *testing.B) { run(b, redisstore.New(startRedis(b), "bench:")) })
}

// TestRedisClusterConformance runs the Store contract (batches included)
// on a real three-node Redis Cluster: every op touches one key, and
// pipelines are split per node by the cluster client.
func TestRedisClusterConformance(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	o := redisopt.Options{Cluster: nodes}
	c, err := o.Client()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	storetest.Run(t, func(*testing.T) behavior.Store {
		return redisstore.New(c, fmt.Sprintf("c%d:", prefixN.Add(1)))
	}, false)
}
