package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/authz"
)

// Store is an authz.TokenStore on a Redis client (single node, Sentinel or
// Cluster).
type Store struct {
	c      redis.UniversalClient
	prefix string
}

var _ authz.TokenStore = (*Store)(nil)

// New returns a Store; every key is prefix + the entry's name.
func New(c redis.UniversalClient, prefix string) *Store { return &Store{c: c, prefix: prefix} }

// Get implements [authz.TokenStore.Get].
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := s.c.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis token store get: %w", err)
	}
	return b, true, nil
}

// Set implements [authz.TokenStore.Set].
func (s *Store) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := s.c.Set(ctx, s.prefix+key, val, max(ttl, time.Millisecond)).Err(); err != nil {
		return fmt.Errorf("redis token store set: %w", err)
	}
	return nil
}

// Take implements [authz.TokenStore.Take] with GETDEL (Redis 6.2+).
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := s.c.GetDel(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis token store take: %w", err)
	}
	return b, true, nil
}

// Delete implements [authz.TokenStore.Delete].
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.c.Del(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("redis token store delete: %w", err)
	}
	return nil
}
