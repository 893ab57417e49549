// Package redisstore keeps approval requests in Redis so several gateway
// instances share them: a call held on one instance can be approved through
// another, and a grant is consumed exactly once across all of them.
//
// Layout (prefix default "portcullis:apr:"): <p>r:<id> the request as JSON,
// <p>k:<binding key> → id of the live request for that binding, <p>list a
// sorted set of ids by creation time. Create and Release are Lua scripts;
// Update is an optimistic WATCH/MULTI transaction.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/approval"
)

// Store is an approval.Store over Redis.
type Store struct {
	c      redis.UniversalClient
	prefix string
}

// New returns a store using keys under prefix.
func New(c redis.UniversalClient, prefix string) *Store { return &Store{c: c, prefix: prefix} }

var createScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[2])
if cur then
  local v = redis.call('GET', ARGV[4] .. cur)
  if v then return {0, v} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
-- Forget ids whose request has surely expired (older than one TTL).
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (tonumber(ARGV[5]) - tonumber(ARGV[2]) * 1000000))
return {1, ARGV[1]}
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

func (s *Store) rkey(id string) string { return s.prefix + "r:" + id }

// Create implements approval.Store.
func (s *Store) Create(ctx context.Context, r *approval.Request, ttl time.Duration) (*approval.Request, bool, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, false, fmt.Errorf("encode approval request: %w", err)
	}
	res, err := createScript.Run(ctx, s.c, []string{s.rkey(r.ID), s.prefix + "k:" + r.Key, s.prefix + "list"},
		string(b), ttl.Milliseconds(), r.ID, s.prefix+"r:", r.Created.UnixNano()).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("redis create %s: %w", r.ID, err)
	}
	if len(res) != 2 {
		return nil, false, fmt.Errorf("redis create %s: unexpected reply", r.ID)
	}
	created, _ := res[0].(int64)
	v, _ := res[1].(string)
	if created == 1 {
		return r, true, nil
	}
	cur, err := decode(v)
	return cur, false, err
}

func decode(v string) (*approval.Request, error) {
	var r approval.Request
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, fmt.Errorf("decode approval request: %w", err)
	}
	return &r, nil
}

// Get implements approval.Store.
func (s *Store) Get(ctx context.Context, id string) (*approval.Request, error) {
	v, err := s.c.Get(ctx, s.rkey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, approval.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis get %s: %w", id, err)
	}
	return decode(v)
}

// ByKey implements approval.Store.
func (s *Store) ByKey(ctx context.Context, key string) (*approval.Request, error) {
	id, err := s.c.Get(ctx, s.prefix+"k:"+key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis get key: %w", err)
	}
	r, err := s.Get(ctx, id)
	if errors.Is(err, approval.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// Update implements approval.Store with WATCH/MULTI; a transaction that
// loses a race is retried with the new value.
func (s *Store) Update(ctx context.Context, id string, fn func(*approval.Request) error) (*approval.Request, error) {
	k := s.rkey(id)
	var out *approval.Request
	var fnErr error
	txf := func(tx *redis.Tx) error {
		v, err := tx.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			return approval.ErrNotFound
		}
		if err != nil {
			return err
		}
		r, err := decode(v)
		if err != nil {
			return err
		}
		if fnErr = fn(r); fnErr != nil {
			out = r
			return nil
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, k, b, redis.SetArgs{KeepTTL: true})
			return nil
		})
		out = r
		return err
	}
	for range 16 {
		err := s.c.Watch(ctx, txf, k)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if errors.Is(err, approval.ErrNotFound) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("redis update %s: %w", id, err)
		}
		if fnErr != nil {
			return out, fnErr
		}
		return out, nil
	}
	return nil, approval.ErrConflict
}

// Release implements approval.Store.
func (s *Store) Release(ctx context.Context, key, id string) error {
	if err := releaseScript.Run(ctx, s.c, []string{s.prefix + "k:" + key}, id).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis release: %w", err)
	}
	return nil
}

// List implements approval.Store.
func (s *Store) List(ctx context.Context, limit int) ([]*approval.Request, error) {
	ids, err := s.c.ZRevRange(ctx, s.prefix+"list", 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis list: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.rkey(id)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis list: %w", err)
	}
	var out []*approval.Request
	var gone []any
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			gone = append(gone, ids[i]) // expired by TTL
			continue
		}
		r, err := decode(str)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(gone) > 0 {
		_ = s.c.ZRem(ctx, s.prefix+"list", gone...).Err()
	}
	return out, nil
}

var _ approval.Store = (*Store)(nil)
