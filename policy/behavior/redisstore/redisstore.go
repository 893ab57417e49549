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

var orScript = redis.NewScript(`
for i = 2, #ARGV do redis.call('SETBIT', KEYS[1], ARGV[i], 1) end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return redis.call('GET', KEYS[1])
`)

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

// Add implements [behavior.Store.Add].
func (s *Store) Add(ctx context.Context, key string, deltas, out []int64, ttl time.Duration) error {
	op := behavior.Op{Kind: behavior.OpAdd, Key: key, Deltas: deltas, Out: out, TTL: ttl}
	return s.one(ctx, &op)
}

// OrBits implements [behavior.Store.OrBits].
func (s *Store) OrBits(ctx context.Context, key string, bits uint64, ttl time.Duration) (uint64, error) {
	op := behavior.Op{Kind: behavior.OpOrBits, Key: key, Bits: bits, TTL: ttl}
	err := s.one(ctx, &op)
	return op.Bits, err
}

// SetAdd implements [behavior.Store.SetAdd].
func (s *Store) SetAdd(ctx context.Context, key, member string, maxMembers int, ttl time.Duration) (bool, error) {
	op := behavior.Op{Kind: behavior.OpSetAdd, Key: key, Member: member, Max: maxMembers, TTL: ttl}
	err := s.one(ctx, &op)
	return op.Bool, err
}

// SetHasAny implements [behavior.Store.SetHasAny].
func (s *Store) SetHasAny(ctx context.Context, key string, members []string) (bool, error) {
	op := behavior.Op{Kind: behavior.OpSetHasAny, Key: key, Members: members}
	err := s.one(ctx, &op)
	return op.Bool, err
}

// Get implements [behavior.Store.Get].
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	op := behavior.Op{Kind: behavior.OpGet, Key: key}
	err := s.one(ctx, &op)
	return op.Val, err
}

// Put implements [behavior.Store.Put].
func (s *Store) Put(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	op := behavior.Op{Kind: behavior.OpPut, Key: key, Val: val, TTL: ttl}
	return s.one(ctx, &op)
}

// one runs a single op with one command (no pipeline).
func (s *Store) one(ctx context.Context, op *behavior.Op) error {
	cmd := s.queue(ctx, s.c, op, true)
	if cmd == nil {
		op.Err = s.parse(op, nil)
		return op.Err
	}
	if isNoScript(cmd) {
		cmd = s.queue(ctx, s.c, op, false)
	}
	op.Err = s.parse(op, cmd)
	return op.Err
}

// Do implements [behavior.Batcher]: every op is queued on one pipeline, so
// a batch costs one round trip (per Cluster node it touches). Scripts are
// sent by SHA; the rare op whose script the server has not cached yet
// (NOSCRIPT, e.g. after a restart) is re-sent with its body.
func (s *Store) Do(ctx context.Context, ops []behavior.Op) {
	if len(ops) == 1 {
		_ = s.one(ctx, &ops[0])
		return
	}
	pipe := s.c.Pipeline()
	cmds := make([]redis.Cmder, len(ops))
	for i := range ops {
		cmds[i] = s.queue(ctx, pipe, &ops[i], true)
	}
	_, err := pipe.Exec(ctx)
	var reply redis.Error
	if err != nil && !errors.As(err, &reply) {
		// Not a server reply (connection refused, timeout, cancelled):
		// commands may carry no error of their own, so none of them
		// counts as answered.
		for i := range ops {
			ops[i].Err = fmt.Errorf("redis pipeline %q: %w", ops[i].Key, err)
		}
		return
	}
	// Ops whose script the server had not cached are re-sent with the
	// script body, together in one more pipeline.
	var retry redis.Pipeliner
	for i := range ops {
		if isNoScript(cmds[i]) {
			if retry == nil {
				retry = s.c.Pipeline()
			}
			cmds[i] = s.queue(ctx, retry, &ops[i], false)
		}
	}
	if retry != nil {
		if _, err := retry.Exec(ctx); err != nil && !errors.As(err, &reply) {
			for i := range ops {
				ops[i].Err = fmt.Errorf("redis pipeline %q: %w", ops[i].Key, err)
			}
			return
		}
	}
	for i := range ops {
		ops[i].Err = s.parse(&ops[i], cmds[i])
	}
}

var _ behavior.Batcher = (*Store)(nil)

func isNoScript(cmd redis.Cmder) bool {
	return cmd != nil && cmd.Err() != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT")
}

// script sends sc by SHA (sha) or with its body.
func script(ctx context.Context, c redis.Scripter, sc *redis.Script, sha bool, keys []string, args ...any) *redis.Cmd {
	if sha {
		return sc.EvalSha(ctx, c, keys, args...)
	}
	return sc.Eval(ctx, c, keys, args...)
}

// queue issues op's command on c (run now on a client, queued on a
// pipeline). It returns nil when no command is needed.
func (s *Store) queue(ctx context.Context, c redis.Cmdable, op *behavior.Op, sha bool) redis.Cmder {
	key := s.prefix + op.Key
	switch op.Kind {
	case behavior.OpAdd:
		args := make([]any, 1, 1+len(op.Deltas))
		args[0] = ttlMillis(op.TTL)
		for _, d := range op.Deltas {
			args = append(args, d)
		}
		return script(ctx, c, addScript, sha, []string{key}, args...)
	case behavior.OpOrBits:
		if op.Bits == 0 {
			return c.Get(ctx, key)
		}
		args := []any{ttlMillis(op.TTL)}
		for i := range 64 {
			if op.Bits&(1<<uint(i)) != 0 {
				args = append(args, i)
			}
		}
		return script(ctx, c, orScript, sha, []string{key}, args...)
	case behavior.OpSetAdd:
		return script(ctx, c, setAddScript, sha, []string{key}, op.Member, op.Max, ttlMillis(op.TTL))
	case behavior.OpSetHasAny:
		if len(op.Members) == 0 {
			return nil
		}
		ms := make([]any, len(op.Members))
		for i, m := range op.Members {
			ms[i] = m
		}
		return c.SMIsMember(ctx, key, ms...)
	case behavior.OpGet:
		return c.Get(ctx, key)
	case behavior.OpPut:
		return c.Set(ctx, key, op.Val, max(op.TTL, 0))
	}
	return nil
}

// parse reads cmd's reply into op.
func (s *Store) parse(op *behavior.Op, cmd redis.Cmder) error {
	switch op.Kind {
	case behavior.OpAdd:
		if len(op.Out) != len(op.Deltas) {
			return fmt.Errorf("redis add %q: %w", op.Key, behavior.ErrBadOp)
		}
		res, err := cmd.(*redis.Cmd).Int64Slice()
		if err != nil {
			return fmt.Errorf("redis add %q: %w", op.Key, err)
		}
		if len(res) != len(op.Out) {
			return fmt.Errorf("redis add %q: got %d values, want %d", op.Key, len(res), len(op.Out))
		}
		copy(op.Out, res)
	case behavior.OpOrBits:
		var raw string
		var err error
		switch c := cmd.(type) {
		case *redis.StringCmd:
			raw, err = c.Result()
		case *redis.Cmd:
			raw, err = c.Text()
		}
		if errors.Is(err, redis.Nil) {
			op.Bits = 0
			return nil
		}
		if err != nil {
			return fmt.Errorf("redis orbits %q: %w", op.Key, err)
		}
		var v uint64
		for j := 0; j < len(raw) && j < 8; j++ {
			for k := range 8 {
				if raw[j]&(0x80>>uint(k)) != 0 {
					v |= 1 << uint(8*j+k)
				}
			}
		}
		op.Bits = v
	case behavior.OpSetAdd:
		n, err := cmd.(*redis.Cmd).Int64()
		if err != nil {
			return fmt.Errorf("redis setadd %q: %w", op.Key, err)
		}
		op.Bool = n == 1
	case behavior.OpSetHasAny:
		op.Bool = false
		if cmd == nil {
			return nil
		}
		res, err := cmd.(*redis.BoolSliceCmd).Result()
		if err != nil {
			return fmt.Errorf("redis smismember %q: %w", op.Key, err)
		}
		for _, b := range res {
			op.Bool = op.Bool || b
		}
	case behavior.OpGet:
		b, err := cmd.(*redis.StringCmd).Bytes()
		if errors.Is(err, redis.Nil) {
			op.Val = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("redis get %q: %w", op.Key, err)
		}
		op.Val = b
	case behavior.OpPut:
		if err := cmd.Err(); err != nil {
			return fmt.Errorf("redis set %q: %w", op.Key, err)
		}
	default:
		return fmt.Errorf("redis op %q: %w", op.Key, behavior.ErrBadOp)
	}
	return nil
}
