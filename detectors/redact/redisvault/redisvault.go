package redisvault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/detectors/redact"
)

// Store is a redact.Store on a Redis client (single node, Sentinel or
// Cluster).
type Store struct {
	c      redis.UniversalClient
	prefix string
}

var _ redact.Store = (*Store)(nil)

// New returns a Store; every key is prefix + vault name.
func New(c redis.UniversalClient, prefix string) *Store { return &Store{c: c, prefix: prefix} }

func ms(ttl time.Duration) int64 { return max(ttl.Milliseconds(), 1) }

// Load implements [redact.Store.Load].
func (s *Store) Load(ctx context.Context, vault string, ttl time.Duration) (map[string]string, error) {
	key := s.prefix + vault
	var all *redis.MapStringStringCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, key)
		p.PExpire(ctx, key, time.Duration(ms(ttl))*time.Millisecond)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis vault load: %w", err)
	}
	out := map[string]string{}
	for f, v := range all.Val() {
		if sur, ok := strings.CutPrefix(f, "s:"); ok {
			out[sur] = v
		}
	}
	return out, nil
}

var claimScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, cur}
end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return {2, ''} end
if redis.call('HLEN', KEYS[1]) >= 2 * tonumber(ARGV[5]) then return {3, ''} end
redis.call('HSET', KEYS[1], ARGV[1], string.sub(ARGV[2], 3), ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {0, ''}
`)

// Claim implements [redact.Store.Claim].
func (s *Store) Claim(ctx context.Context, vault, lookup, surrogate, sealed string, ttl time.Duration, max int) (string, bool, error) {
	res, err := claimScript.Run(ctx, s.c, []string{s.prefix + vault}, "l:"+lookup, "s:"+surrogate, sealed, ms(ttl), max).Slice()
	if err != nil {
		return "", false, fmt.Errorf("redis vault claim: %w", err)
	}
	if len(res) != 2 {
		return "", false, errors.New("redis vault claim: malformed reply")
	}
	code, _ := res[0].(int64)
	switch code {
	case 0:
		return "", false, nil
	case 1:
		cur, _ := res[1].(string)
		return cur, false, nil
	case 2:
		return "", true, nil
	case 3:
		return "", false, redact.ErrVaultFull
	}
	return "", false, fmt.Errorf("redis vault claim: unknown reply %d", code)
}
