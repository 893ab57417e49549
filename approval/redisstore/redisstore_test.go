package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/redisstore"
	"github.com/portcullis-mcp/portcullis/approval/storetest"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
)

func startRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	addr := redistest.Start(tb, nil).Addr
	c := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

var n atomic.Int64

func TestRedisStoreConformance(t *testing.T) {
	c := startRedis(t)
	storetest.Run(t, func(*testing.T) approval.Store {
		return redisstore.New(c, fmt.Sprintf("t%d:", n.Add(1)))
	})
}

func TestRedisStoreErrorsWrapped(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	s := redisstore.New(c, "x:")
	_, err := s.Get(context.Background(), "apr_x")
	require.ErrorContains(t, err, "redis get apr_x")
	svc, err := approval.New(approval.Config{Timeout: time.Minute, GrantTTL: time.Minute, OnTimeout: "reject"}, s)
	require.NoError(t, err)
	_, err = svc.Check(context.Background(), approval.Binding{Principal: "a", Server: "s", Method: "tools/call", Tool: "t"})
	require.ErrorContains(t, err, "approval store", "a dead store refuses the call (fail closed)")
}

func TestRedisStoreTTL(t *testing.T) {
	c := startRedis(t)
	s := redisstore.New(c, "ttl:")
	ctx := context.Background()
	r := &approval.Request{ID: "apr_t", Key: "k", Status: approval.StatusPending, Created: time.Now()}
	_, _, err := s.Create(ctx, r, time.Hour)
	require.NoError(t, err)
	require.Greater(t, c.TTL(ctx, "ttl:r:apr_t").Val(), 59*time.Minute)
	_, err = s.Update(ctx, "apr_t", func(r *approval.Request) error { r.Status = approval.StatusApproved; return nil })
	require.NoError(t, err)
	require.Greater(t, c.TTL(ctx, "ttl:r:apr_t").Val(), 59*time.Minute, "updates keep the TTL")

	// The time index forgets ids older than one TTL when new ones arrive.
	old := &approval.Request{ID: "apr_old", Key: "k-old", Created: time.Now().Add(-3 * time.Hour)}
	_, _, err = s.Create(ctx, old, time.Hour)
	require.NoError(t, err)
	_, _, err = s.Create(ctx, &approval.Request{ID: "apr_new", Key: "k-new", Created: time.Now()}, time.Hour)
	require.NoError(t, err)
	ids := c.ZRange(ctx, "ttl:list", 0, -1).Val()
	require.NotContains(t, ids, "apr_old")
	require.Contains(t, ids, "apr_new")
}
