package redact

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is an in-process Store: the reference implementation of the
// Store contract (tests, single-process deployments that want sealed
// entries). It is bounded per vault by Claim's max and in time by the TTL;
// expired vaults are dropped when touched.
type MemoryStore struct {
	mu  sync.Mutex
	m   map[string]*memStoreVault
	now func() time.Time
}

type memStoreVault struct {
	lookups map[string]string // lookup -> surrogate
	sealed  map[string]string // surrogate -> sealed
	expires time.Time
}

// NewMemoryStore returns an empty store on clock now (nil: time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{m: map[string]*memStoreVault{}, now: now}
}

func (s *MemoryStore) vault(name string, create bool) *memStoreVault {
	v := s.m[name]
	if v != nil && !s.now().Before(v.expires) {
		delete(s.m, name)
		v = nil
	}
	if v == nil && create {
		v = &memStoreVault{lookups: map[string]string{}, sealed: map[string]string{}}
		s.m[name] = v
	}
	return v
}

// Load implements [Store.Load].
func (s *MemoryStore) Load(_ context.Context, name string, ttl time.Duration) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vault(name, false)
	if v == nil {
		return nil, nil
	}
	v.expires = s.now().Add(ttl)
	out := make(map[string]string, len(v.sealed))
	for k, x := range v.sealed {
		out[k] = x
	}
	return out, nil
}

// Claim implements [Store.Claim].
func (s *MemoryStore) Claim(_ context.Context, name, lookup, surrogate, sealed string, ttl time.Duration, max int) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vault(name, true)
	v.expires = s.now().Add(ttl)
	if cur, ok := v.lookups[lookup]; ok {
		return cur, false, nil
	}
	if _, ok := v.sealed[surrogate]; ok {
		return "", true, nil
	}
	if len(v.sealed) >= max {
		return "", false, ErrVaultFull
	}
	v.lookups[lookup] = surrogate
	v.sealed[surrogate] = sealed
	return "", false, nil
}

var _ Store = (*MemoryStore)(nil)
