package approval

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Store keeps approval requests. Implementations must make Create and
// Update atomic across every gateway instance sharing the store: Update's
// function sees the current value and its result is written only if nothing
// changed in between (else it is retried or ErrConflict returned).
type Store interface {
	// Create stores r and indexes it by r.Key unless a live request already
	// holds that key; then it returns that request and created=false.
	Create(ctx context.Context, r *Request, ttl time.Duration) (cur *Request, created bool, err error)
	// Get returns the request with this id (ErrNotFound).
	Get(ctx context.Context, id string) (*Request, error)
	// ByKey returns the live request indexed by this binding key, or nil.
	ByKey(ctx context.Context, key string) (*Request, error)
	// Update applies fn atomically and returns the stored result. fn may
	// return an error to abort without writing.
	Update(ctx context.Context, id string, fn func(*Request) error) (*Request, error)
	// Release drops the key index if it still points at id, so the next
	// call with that binding creates a new request.
	Release(ctx context.Context, key, id string) error
	// List returns requests newest first, at most limit.
	List(ctx context.Context, limit int) ([]*Request, error)
}

// MemoryStore is a Store for a single gateway instance.
type MemoryStore struct {
	mu    sync.Mutex
	byID  map[string][]byte // JSON, so callers never share mutable state
	byKey map[string]string
	order []string // ids, oldest first
	max   int
}

// NewMemoryStore keeps at most max requests (default 10000); the oldest
// final ones are dropped first.
func NewMemoryStore(max int) *MemoryStore {
	if max <= 0 {
		max = 10000
	}
	return &MemoryStore{byID: map[string][]byte{}, byKey: map[string]string{}, max: max}
}

func decode(b []byte) (*Request, error) {
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode approval request: %w", err)
	}
	return &r, nil
}

// Create implements Store.
func (m *MemoryStore) Create(_ context.Context, r *Request, _ time.Duration) (*Request, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.byKey[r.Key]; ok {
		if b, ok := m.byID[id]; ok {
			cur, err := decode(b)
			return cur, false, err
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, false, fmt.Errorf("encode approval request: %w", err)
	}
	m.evict()
	m.byID[r.ID] = b
	m.byKey[r.Key] = r.ID
	m.order = append(m.order, r.ID)
	return r, true, nil
}

// evict drops the oldest final request when full (pending ones are kept
// until they expire, so a flood cannot erase a pending decision).
func (m *MemoryStore) evict() {
	if len(m.order) < m.max {
		return
	}
	for i, id := range m.order {
		r, err := decode(m.byID[id])
		if err == nil && !r.Status.Final() && i < len(m.order)-1 {
			continue
		}
		delete(m.byID, id)
		if err == nil && m.byKey[r.Key] == id {
			delete(m.byKey, r.Key)
		}
		m.order = slices.Delete(m.order, i, i+1)
		return
	}
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, id string) (*Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.byID[id]
	if !ok {
		return nil, ErrNotFound
	}
	return decode(b)
}

// ByKey implements Store.
func (m *MemoryStore) ByKey(_ context.Context, key string) (*Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byKey[key]
	if !ok {
		return nil, nil
	}
	b, ok := m.byID[id]
	if !ok {
		return nil, nil
	}
	return decode(b)
}

// Update implements Store.
func (m *MemoryStore) Update(_ context.Context, id string, fn func(*Request) error) (*Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.byID[id]
	if !ok {
		return nil, ErrNotFound
	}
	r, err := decode(b)
	if err != nil {
		return nil, err
	}
	if err := fn(r); err != nil {
		return r, err
	}
	nb, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode approval request: %w", err)
	}
	m.byID[id] = nb
	return r, nil
}

// Release implements Store.
func (m *MemoryStore) Release(_ context.Context, key, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byKey[key] == id {
		delete(m.byKey, key)
	}
	return nil
}

// List implements Store.
func (m *MemoryStore) List(_ context.Context, limit int) ([]*Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Request
	for i := len(m.order) - 1; i >= 0 && len(out) < limit; i-- {
		r, err := decode(m.byID[m.order[i]])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
