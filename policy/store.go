package policy

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Store holds the current policy and swaps it atomically on reload. Callers
// take Current() once per call and keep using that *Policy, so in-flight
// calls finish under the policy they started with.
type Store struct {
	cur atomic.Pointer[Policy]

	mu       sync.Mutex // serialises reloads
	lastHash [32]byte
	readErr  bool // the last poll could not read the file (reported once)
	onReload func(ReloadEvent)
}

// ReloadEvent reports one reload attempt (for metrics and logs).
type ReloadEvent struct {
	Path       string
	OldVersion string
	NewVersion string // empty on failure
	Err        error  // non-nil: the old policy is still active
}

// NewStore returns a store serving p (which may be nil until the first
// successful Reload).
func NewStore(p *Policy) *Store {
	s := &Store{}
	if p != nil {
		s.cur.Store(p)
		s.lastHash = p.sourceHash
	}
	return s
}

// OnReload sets a hook called after every reload attempt that read a changed
// file (success or failure). Set it before Watch starts.
func (s *Store) OnReload(fn func(ReloadEvent)) {
	s.mu.Lock()
	s.onReload = fn
	s.mu.Unlock()
}

// Current returns the active policy (nil before the first load).
func (s *Store) Current() *Policy { return s.cur.Load() }

// Version is the active policy's version ("" if none).
func (s *Store) Version() string {
	if p := s.cur.Load(); p != nil {
		return p.version
	}
	return ""
}

// Reload reads, validates and compiles path, then swaps it in. On any error
// the previous policy stays active and the error is returned.
func (s *Store) Reload(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.reloadLocked(path, true)
	return err
}

func (s *Store) reloadLocked(path string, force bool) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		err = fmt.Errorf("reload policy %s: %w", path, err)
		if force || !s.readErr {
			s.emit(ReloadEvent{Path: path, OldVersion: s.Version(), Err: err})
		}
		s.readErr = true
		return false, err
	}
	s.readErr = false
	h := sha256.Sum256(data)
	if !force && h == s.lastHash {
		return false, nil
	}
	s.lastHash = h // a bad file is reported once, until it changes again
	old := s.Version()
	p, err := Parse(data)
	if err != nil {
		err = fmt.Errorf("reload policy %s: %w", path, err)
		s.emit(ReloadEvent{Path: path, OldVersion: old, Err: err})
		return false, err
	}
	s.cur.Store(p)
	s.emit(ReloadEvent{Path: path, OldVersion: old, NewVersion: p.version})
	return true, nil
}

func (s *Store) emit(ev ReloadEvent) {
	if s.onReload != nil {
		s.onReload(ev)
	}
}

// Watch polls path every interval and reloads when its content changes,
// until ctx is done. A bad file is reported once (via OnReload) and retried
// only after it changes again.
func (s *Store) Watch(ctx context.Context, path string, interval time.Duration) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			_, _ = s.reloadLocked(path, false) // reported through OnReload
			s.mu.Unlock()
		}
	}
}
