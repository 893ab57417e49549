package behavior

import (
	"context"
	"time"
)

// Store is the state the Engine keeps, reduced to five primitive operations
// that a shared store (Redis, see the redisstore package) implements
// atomically so several processor replicas see one agent's activity.
//
// Keys are opaque strings built by the Engine. A ttl of 0 means the key never
// expires and must never be evicted (used only for tool pins, which the
// Engine bounds itself); any other ttl is refreshed by every write.
type Store interface {
	// Add adds deltas element-wise to the counter vector at key (missing
	// elements are 0) and writes the new values into out (len(out) ==
	// len(deltas)). Add with all-zero deltas reads.
	Add(ctx context.Context, key string, deltas, out []int64, ttl time.Duration) error
	// OrBits sets bits in the 64-bit set at key and returns the result;
	// OrBits(…, 0, …) reads.
	OrBits(ctx context.Context, key string, bits uint64, ttl time.Duration) (uint64, error)
	// SetAdd adds member to the set at key, keeping at most max members
	// (an arbitrary member is dropped when full), and reports whether it
	// was absent before.
	SetAdd(ctx context.Context, key, member string, max int, ttl time.Duration) (bool, error)
	// SetHasAny reports whether any of members is in the set at key.
	SetHasAny(ctx context.Context, key string, members []string) (bool, error)
	// Get returns the blob at key, or nil if absent. Callers must not
	// modify it.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores a blob at key.
	Put(ctx context.Context, key string, val []byte, ttl time.Duration) error
}
