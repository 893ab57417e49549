package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// Store is a behavior.Store on a Redis client (single node, Sentinel or
// Cluster).
type Store struct {
	c      redis.UniversalClient
	prefix string
}

var _ behavior.Store = (*Store)(nil)

// New returns a Store using client; every key is prefixed with prefix
// (e.g. "portcullis:bh:") so several deployments can share a Redis.
func New(client redis.UniversalClient, prefix string) *Store {
	return &Store{c: client, prefix: prefix}
}

func ttlMillis(ttl time.Duration) string {
	if ttl <= 0 {
		return "0"
	}
	return strconv.FormatInt(max(ttl.Milliseconds(), 1), 10)
}

var addScript = redis.NewScript(`
local any = false
for i = 2, #ARGV do
  if tonumber(ARGV[i]) ~= 0 then any = true end
end
local out = {}
for i = 2, #ARGV do
  local f = tostring(i - 2)
  if any then
    out[i - 1] = redis.call('HINCRBY', KEYS[1], f, ARGV[i])
  else
    out[i - 1] = tonumber(redis.call('HGET', KEYS[1], f) or '0')
  end
end
if any then
  local ttl = tonumber(ARGV[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
end
return out
`)

// Add implements [behavior.Store.Add].
func (s *Store) Add(ctx context.Context, key string, deltas, out []int64, ttl time.Duration) error {
	args := make([]any, 1, 1+len(deltas))
	args[0] = ttlMillis(ttl)
	for _, d := range deltas {
		args = append(args, d)
	}
	res, err := addScript.Run(ctx, s.c, []string{s.prefix + key}, args...).Int64Slice()
	if err != nil {
		return fmt.Errorf("redis add %q: %w", key, err)
	}
	if len(res) != len(out) {
		return fmt.Errorf("redis add %q: got %d values, want %d", key, len(res), len(out))
	}
	copy(out, res)
	return nil
}

var orScript = redis.NewScript(`
for i = 2, #ARGV do redis.call('SETBIT', KEYS[1], ARGV[i], 1) end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return redis.call('GET', KEYS[1])
`)

// OrBits implements [behavior.Store.OrBits].
func (s *Store) OrBits(ctx context.Context, key string, bits uint64, ttl time.Duration) (uint64, error) {
	var raw string
	var err error
	if bits == 0 {
		raw, err = s.c.Get(ctx, s.prefix+key).Result()
	} else {
		args := []any{ttlMillis(ttl)}
		for i := range 64 {
			if bits&(1<<uint(i)) != 0 {
				args = append(args, i)
			}
		}
		raw, err = orScript.Run(ctx, s.c, []string{s.prefix + key}, args...).Text()
	}
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis orbits %q: %w", key, err)
	}
	var v uint64
	for j := 0; j < len(raw) && j < 8; j++ {
		for k := range 8 {
			if raw[j]&(0x80>>uint(k)) != 0 {
				v |= 1 << uint(8*j+k)
			}
		}
	}
	return v, nil
}

var setAddScript = redis.NewScript(`
local added = redis.call('SADD', KEYS[1], ARGV[1])
local max = tonumber(ARGV[2])
if added == 1 and max > 0 then
  local n = redis.call('SCARD', KEYS[1])
  while n > max do
    local m = redis.call('SRANDMEMBER', KEYS[1], 2)
    if m[1] ~= ARGV[1] then redis.call('SREM', KEYS[1], m[1]) else redis.call('SREM', KEYS[1], m[2]) end
    n = n - 1
  end
end
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return added
`)

// SetAdd implements [behavior.Store.SetAdd].
func (s *Store) SetAdd(ctx context.Context, key, member string, maxMembers int, ttl time.Duration) (bool, error) {
	n, err := setAddScript.Run(ctx, s.c, []string{s.prefix + key}, member, maxMembers, ttlMillis(ttl)).Int64()
	if err != nil {
		return false, fmt.Errorf("redis setadd %q: %w", key, err)
	}
	return n == 1, nil
}

// SetHasAny implements [behavior.Store.SetHasAny].
func (s *Store) SetHasAny(ctx context.Context, key string, members []string) (bool, error) {
	if len(members) == 0 {
		return false, nil
	}
	ms := make([]any, len(members))
	for i, m := range members {
		ms[i] = m
	}
	res, err := s.c.SMIsMember(ctx, s.prefix+key, ms...).Result()
	if err != nil {
		return false, fmt.Errorf("redis smismember %q: %w", key, err)
	}
	for _, b := range res {
		if b {
			return true, nil
		}
	}
	return false, nil
}

// Get implements [behavior.Store.Get].
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis get %q: %w", key, err)
	}
	return b, nil
}

// Put implements [behavior.Store.Put].
func (s *Store) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl < 0 {
		ttl = 0
	}
	if err := s.c.Set(ctx, s.prefix+key, val, ttl).Err(); err != nil {
		return fmt.Errorf("redis set %q: %w", key, err)
	}
	return nil
}
