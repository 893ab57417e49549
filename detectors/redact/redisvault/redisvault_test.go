package redisvault_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/detectors/redact"
	"github.com/portcullis-mcp/portcullis/detectors/redact/redisvault"
	"github.com/portcullis-mcp/portcullis/detectors/redact/vaulttest"
	"github.com/portcullis-mcp/portcullis/internal/redisopt"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
)

var n atomic.Int64

func TestRedisVaultContract(t *testing.T) {
	srv := redistest.Start(t, nil)
	c := srv.Client()
	vaulttest.Run(t, func(*testing.T) redact.Store { return redisvault.New(c, fmt.Sprintf("t%d:", n.Add(1))) })
}

// TestAtRest reads Redis directly: keys and values hold no clear value,
// principal or session, and the vault expires.
func TestAtRest(t *testing.T) {
	srv := redistest.Start(t, nil)
	c := srv.Client()
	ctx := context.Background()
	vs, err := redact.NewVaults(redact.VaultsOptions{Store: redisvault.New(c, "pc:v:"), Sealer: vaulttest.Sealer(t, "k1"), TTL: time.Minute})
	require.NoError(t, err)
	v, err := vs.Get(ctx, "alice@corp|files|sess-42")
	require.NoError(t, err)
	_, err = redact.Redact("card 4111 1111 1111 1111 mail jane@acme.example", []redact.Span{{Type: "CREDIT_CARD", Start: 5, End: 24}, {Type: "EMAIL_ADDRESS", Start: 30, End: 47}}, redact.Synthetic, v)
	require.NoError(t, err)
	keys, err := c.Keys(ctx, "*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	var dump strings.Builder
	dump.WriteString(keys[0])
	for f, x := range c.HGetAll(ctx, keys[0]).Val() {
		dump.WriteString(" " + f + "=" + x)
	}
	for _, clear := range []string{"4111", "jane", "acme", "alice", "corp", "sess-42", "files"} {
		require.NotContains(t, dump.String(), clear)
	}
	ttl := c.PTTL(ctx, keys[0]).Val()
	require.Greater(t, ttl, 50*time.Second)
	require.LessOrEqual(t, ttl, time.Minute)
}

// TestRedisDown: a dead Redis fails closed with ErrUnavailable.
func TestRedisDown(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	vs, err := redact.NewVaults(redact.VaultsOptions{Store: redisvault.New(c, "x:"), Sealer: vaulttest.Sealer(t, "k1")})
	require.NoError(t, err)
	v, err := vs.Get(context.Background(), "b")
	require.NoError(t, err)
	_, err = redact.Redact("a@b.example", []redact.Span{{Type: "EMAIL_ADDRESS", Start: 0, End: 11}}, redact.Mask, v)
	require.ErrorIs(t, err, redact.ErrUnavailable)
	_, err = vs.Lookup(context.Background(), "b")
	require.ErrorIs(t, err, redact.ErrUnavailable)
}

// TestRedisVaultClusterContract runs the vault Store contract on a real
// three-node Redis Cluster (one hash per vault: one slot).
func TestRedisVaultClusterContract(t *testing.T) {
	nodes := redistest.StartCluster(t, 3)
	o := redisopt.Options{Cluster: nodes}
	c, err := o.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	vaulttest.Run(t, func(*testing.T) redact.Store { return redisvault.New(c, fmt.Sprintf("c%d:", n.Add(1))) })
}
