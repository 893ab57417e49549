package behavior

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryOptions bound a MemoryStore.
type MemoryOptions struct {
	// MaxEntries is the entry ceiling (default 200000).
	MaxEntries int
	// MaxBytes is the approximate memory ceiling (default 64 MiB).
	MaxBytes int64
	// Shards is the number of independently locked shards (default 64,
	// rounded up to a power of two).
	Shards int
	// Now is the clock for TTLs (default time.Now).
	Now func() time.Time
}

// MemoryStore is the default, in-process Store: sharded maps bounded by an
// entry count and an approximate byte ceiling, with TTL expiry and
// approximate LRU eviction (sampled). Entries written with ttl 0 are never
// evicted. Safe for concurrent use.
type MemoryStore struct {
	shards   []memShard
	mask     uint64
	seed     maphash.Seed
	now      func() time.Time
	maxEnt   int
	maxBytes int64
	entries  atomic.Int64
	bytes    atomic.Int64
	evicted  atomic.Int64
}

var _ Store = (*MemoryStore)(nil)

type memShard struct {
	mu    sync.Mutex
	m     map[string]*memEntry
	tick  uint64
	n     int
	bytes int64
	_     [32]byte // keep hot shard headers on separate cache lines
}

type memEntry struct {
	vec     []int64
	bits    uint64
	set     map[string]struct{}
	blob    []byte
	expires int64 // unix nanos; 0 never
	used    uint64
	size    int64
}

const entryOverhead = 96

// NewMemoryStore returns a bounded in-memory store.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 200000
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 64 << 20
	}
	if opts.Shards <= 0 {
		opts.Shards = 64
	}
	n := 1
	for n < opts.Shards {
		n <<= 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &MemoryStore{shards: make([]memShard, n), mask: uint64(n - 1), seed: maphash.MakeSeed(), now: opts.Now, maxEnt: opts.MaxEntries, maxBytes: opts.MaxBytes}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*memEntry)
	}
	return s
}

// Len is the number of entries (a gauge for metrics).
func (s *MemoryStore) Len() int { return int(s.entries.Load()) }

// Bytes is the approximate memory held by entries (a gauge for metrics).
func (s *MemoryStore) Bytes() int64 { return s.bytes.Load() }

// Evictions is the number of entries evicted to stay under the ceilings
// (a counter for metrics; expiry is not counted).
func (s *MemoryStore) Evictions() int64 { return s.evicted.Load() }

func (s *MemoryStore) shard(key string) *memShard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// get returns the live entry for key, creating it if create is set. The
// shard lock is held.
func (s *MemoryStore) get(sh *memShard, key string, now int64, create bool) *memEntry {
	sh.tick++
	e := sh.m[key]
	if e != nil && e.expires != 0 && e.expires <= now {
		s.remove(sh, key, e)
		e = nil
	}
	if e == nil {
		if !create {
			return nil
		}
		e = &memEntry{size: int64(len(key)) + entryOverhead}
		sh.m[key] = e
		sh.n++
		sh.bytes += e.size
		s.entries.Add(1)
		s.bytes.Add(e.size)
		s.evict(sh, key, now)
	}
	e.used = sh.tick
	return e
}

func (s *MemoryStore) remove(sh *memShard, key string, e *memEntry) {
	delete(sh.m, key)
	sh.n--
	sh.bytes -= e.size
	s.entries.Add(-1)
	s.bytes.Add(-e.size)
}

func (s *MemoryStore) grow(sh *memShard, e *memEntry, d int64) {
	e.size += d
	sh.bytes += d
	s.bytes.Add(d)
}

// evict keeps the shard under its share of the ceilings by sampling a few
// entries (Go map iteration order is randomised), dropping expired ones and
// the least recently used evictable one. keep is never evicted.
func (s *MemoryStore) evict(sh *memShard, keep string, now int64) {
	nsh := int64(len(s.shards))
	maxEnt := max(int64(s.maxEnt)/nsh, 1)
	maxBytes := max(s.maxBytes/nsh, 1024)
	for tries := 0; (int64(sh.n) > maxEnt || sh.bytes > maxBytes) && tries < 64; tries++ {
		var victim string
		var ve *memEntry
		sampled := 0
		for k, e := range sh.m {
			if k == keep {
				continue
			}
			if e.expires != 0 && e.expires <= now {
				s.remove(sh, k, e)
				victim, ve = "", nil
				break
			}
			if e.expires != 0 && (ve == nil || e.used < ve.used) {
				victim, ve = k, e
			}
			if sampled++; sampled >= 8 {
				break
			}
		}
		if ve != nil {
			s.remove(sh, victim, ve)
			s.evicted.Add(1)
		}
	}
}

func (s *MemoryStore) touch(e *memEntry, now int64, ttl time.Duration) {
	if ttl > 0 {
		e.expires = now + int64(ttl)
	} else {
		e.expires = 0
	}
}

// Add implements [Store.Add].
func (s *MemoryStore) Add(_ context.Context, key string, deltas, out []int64, ttl time.Duration) error {
	now := s.now().UnixNano()
	zero := true
	for _, d := range deltas {
		if d != 0 {
			zero = false
			break
		}
	}
	sh := s.shard(key)
	sh.mu.Lock()
	e := s.get(sh, key, now, !zero)
	if e == nil {
		sh.mu.Unlock()
		clear(out)
		return nil
	}
	if len(e.vec) < len(deltas) {
		s.grow(sh, e, int64(8*(len(deltas)-len(e.vec))))
		e.vec = append(e.vec, make([]int64, len(deltas)-len(e.vec))...)
	}
	for i, d := range deltas {
		e.vec[i] += d
		out[i] = e.vec[i]
	}
	if !zero {
		s.touch(e, now, ttl)
	}
	sh.mu.Unlock()
	return nil
}

// OrBits implements [Store.OrBits].
func (s *MemoryStore) OrBits(_ context.Context, key string, bits uint64, ttl time.Duration) (uint64, error) {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	e := s.get(sh, key, now, bits != 0)
	var v uint64
	if e != nil {
		e.bits |= bits
		v = e.bits
		if bits != 0 {
			s.touch(e, now, ttl)
		}
	}
	sh.mu.Unlock()
	return v, nil
}

// SetAdd implements [Store.SetAdd].
func (s *MemoryStore) SetAdd(_ context.Context, key, member string, maxMembers int, ttl time.Duration) (bool, error) {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, key, now, true)
	s.touch(e, now, ttl)
	if e.set == nil {
		e.set = make(map[string]struct{})
	}
	if _, ok := e.set[member]; ok {
		return false, nil
	}
	if maxMembers > 0 && len(e.set) >= maxMembers {
		for k := range e.set {
			delete(e.set, k)
			s.grow(sh, e, -int64(len(k)+16))
			break
		}
	}
	e.set[member] = struct{}{}
	s.grow(sh, e, int64(len(member)+16))
	s.evict(sh, key, now)
	return true, nil
}

// SetHasAny implements [Store.SetHasAny].
func (s *MemoryStore) SetHasAny(_ context.Context, key string, members []string) (bool, error) {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, key, now, false)
	if e == nil {
		return false, nil
	}
	for _, m := range members {
		if _, ok := e.set[m]; ok {
			return true, nil
		}
	}
	return false, nil
}

// Get implements [Store.Get].
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := s.get(sh, key, now, false); e != nil {
		return e.blob, nil
	}
	return nil, nil
}

// Put implements [Store.Put]. The store keeps val; the caller must not
// modify it afterwards.
func (s *MemoryStore) Put(_ context.Context, key string, val []byte, ttl time.Duration) error {
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.get(sh, key, now, true)
	s.grow(sh, e, int64(len(val)-len(e.blob)))
	e.blob = val
	s.touch(e, now, ttl)
	s.evict(sh, key, now)
	return nil
}
