package authz

import (
	"sync"
	"time"
)

// ttlCache is a bounded map from token hashes to values with a deadline.
// When full it drops expired entries first and then arbitrary ones, so it
// never grows past max however many distinct tokens arrive. Keys are
// SHA-256 digests: tokens themselves are never kept.
type ttlCache[V any] struct {
	mu  sync.Mutex
	m   map[[32]byte]ttlEntry[V]
	max int
}

type ttlEntry[V any] struct {
	v     V
	until time.Time
}

func newTTLCache[V any](max int) *ttlCache[V] {
	return &ttlCache[V]{m: make(map[[32]byte]ttlEntry[V]), max: max}
}

func (c *ttlCache[V]) get(k [32]byte, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if ok && now.After(e.until) {
		delete(c.m, k)
		ok = false
	}
	return e.v, ok
}

func (c *ttlCache[V]) put(k [32]byte, v V, until, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.m[k]; !exists && len(c.m) >= c.max {
		for key, old := range c.m {
			if now.After(old.until) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max*9/10+1 && len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = ttlEntry[V]{v: v, until: until}
}

func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
