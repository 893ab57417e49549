package authz

import (
	"context"
	"errors"
	"sync"
	"time"
)

// MemoryStore is a TokenStore in this process's memory (one replica; use a
// shared store with several). It holds at most max entries: when full,
// expired entries are dropped first, then Set fails rather than evict a
// grant someone consented to.
type MemoryStore struct {
	mu  sync.Mutex
	m   map[string]memEntry
	max int
	now func() time.Time
}

type memEntry struct {
	v     []byte
	until time.Time
}

// ErrStoreFull is returned by MemoryStore.Set when it holds max entries.
var ErrStoreFull = errors.New("token store is full")

// NewMemoryStore returns an empty store for at most max entries.
func NewMemoryStore(max int) *MemoryStore {
	return &MemoryStore{m: map[string]memEntry{}, max: max, now: time.Now}
}

// WithClock sets the store's clock (tests) and returns the store.
func (s *MemoryStore) WithClock(now func() time.Time) *MemoryStore {
	s.now = now
	return s
}

var _ TokenStore = (*MemoryStore)(nil)

// Get implements TokenStore.
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !s.now().Before(e.until) {
		delete(s.m, key)
		return nil, false, nil
	}
	return append([]byte(nil), e.v...), true, nil
}

// Set implements TokenStore.
func (s *MemoryStore) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, exists := s.m[key]; !exists && len(s.m) >= s.max {
		for k, e := range s.m {
			if !now.Before(e.until) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= s.max {
			return ErrStoreFull
		}
	}
	s.m[key] = memEntry{v: append([]byte(nil), val...), until: now.Add(ttl)}
	return nil
}

// Take implements TokenStore.
func (s *MemoryStore) Take(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	e, ok := s.m[key]
	delete(s.m, key)
	s.mu.Unlock()
	if !ok || !s.now().Before(e.until) {
		return nil, false, nil
	}
	return e.v, true, nil
}

// Delete implements TokenStore.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}
