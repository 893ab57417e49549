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
	path     string     // the file Watch polls; Reload switches it
	lastHash [32]byte
	seenHash [32]byte // changed content seen by the last poll, not yet loaded
	readErr  bool     // the last poll could not read the file (reported once)
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
// the previous policy stays active and the error is returned. On success
// path becomes the file Watch polls, so a configuration reload that names a
// new policy file is not undone by the watcher polling the old one.
func (s *Store) Reload(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.reloadLocked(path, true)
	if err == nil {
		s.path = path
	}
	return err
}

// Path is the policy file the store watches ("" before Watch or Reload).
func (s *Store) Path() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.path
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
	if !force && h != s.seenHash {
		// Changed since the last poll: wait until the content is stable
		// for one interval, so a file caught mid-write is not reported.
		s.seenHash = h
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

// Watch polls the policy file every interval and reloads when its content
// changed and then stayed the same for one more poll, until ctx is done. It
// starts with path and follows later successful Reload calls to other
// paths. A bad file is reported once (via OnReload) and retried only after
// it changes again.
func (s *Store) Watch(ctx context.Context, path string, interval time.Duration) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	s.mu.Lock()
	if s.path == "" {
		s.path = path
	}
	s.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			_, _ = s.reloadLocked(s.path, false) // reported through OnReload
			s.mu.Unlock()
		}
	}
}
