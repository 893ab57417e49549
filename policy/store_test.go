package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func withVersion(v string) string {
	return strings.Replace(minimal, "metadata: {name: min}", "metadata: {name: min, version: "+v+"}", 1)
}

func TestStoreReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	writeFile(t, path, withVersion("v1"))
	s := NewStore(nil)
	var mu sync.Mutex
	var events []ReloadEvent
	s.OnReload(func(ev ReloadEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() })
	if s.Current() != nil || s.Version() != "" {
		t.Fatal("empty store has a policy")
	}
	if err := s.Reload(path); err != nil {
		t.Fatal(err)
	}
	inflight := s.Current()
	if !isVersion(inflight.Version(), "v1") {
		t.Fatalf("version %s", inflight.Version())
	}
	// A bad policy keeps the old one.
	writeFile(t, path, withVersion("v2")+"  mode: bogus\n")
	if err := s.Reload(path); err == nil || !strings.Contains(err.Error(), "spec.mode") {
		t.Fatalf("want validation error, got %v", err)
	}
	if !isVersion(s.Version(), "v1") {
		t.Fatalf("bad reload replaced the policy: %s", s.Version())
	}
	writeFile(t, path, withVersion("v3"))
	if err := s.Reload(path); err != nil {
		t.Fatal(err)
	}
	if !isVersion(s.Version(), "v3") || !isVersion(inflight.Version(), "v1") {
		t.Fatalf("store %s, in-flight %s", s.Version(), inflight.Version())
	}
	d := inflight.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "fs", Tool: "read", Agent: alice})
	if !isVersion(d.PolicyVersion, "v1") {
		t.Fatalf("in-flight decision version %s", d.PolicyVersion)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 || events[1].Err == nil || !isVersion(events[1].OldVersion, "v1") || !isVersion(events[2].NewVersion, "v3") {
		t.Fatalf("events %+v", events)
	}
}

func TestStoreWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	writeFile(t, path, withVersion("v1"))
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(p)
	evs := make(chan ReloadEvent, 10)
	s.OnReload(func(ev ReloadEvent) { evs <- ev })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Watch(ctx, path, 5*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	writeFile(t, path, "not: [valid")
	select {
	case ev := <-evs:
		if ev.Err == nil || !isVersion(s.Version(), "v1") {
			t.Fatalf("bad file: %+v, version %s", ev, s.Version())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reload event for a bad file")
	}
	writeFile(t, path, withVersion("v2"))
	select {
	case ev := <-evs:
		if ev.Err != nil || !isVersion(ev.NewVersion, "v2") || !isVersion(s.Version(), "v2") {
			t.Fatalf("good file: %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reload event for a good file")
	}
	// Unchanged content triggers nothing further.
	select {
	case ev := <-evs:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

// isVersion reports whether v is declared version want plus a content hash.
func isVersion(v, want string) bool {
	d, h, ok := strings.Cut(v, "+sha256:")
	return ok && d == want && len(h) == 8
}

// A configuration reload that names another policy file switches the
// watcher to it (issue 10: the old path used to win within one interval).
func TestStoreWatchFollowsReloadPath(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writeFile(t, a, withVersion("a1"))
	writeFile(t, b, withVersion("b1"))
	p, err := Load(a)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(p)
	evs := make(chan ReloadEvent, 10)
	s.OnReload(func(ev ReloadEvent) { evs <- ev })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Watch(ctx, a, 5*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	if err := s.Reload(b); err != nil {
		t.Fatal(err)
	}
	if ev := <-evs; !isVersion(ev.NewVersion, "b1") || s.Path() != b {
		t.Fatalf("reload to b: %+v, path %s", ev, s.Path())
	}
	// The old file changes first; only the new one may be picked up.
	writeFile(t, a, withVersion("a2"))
	writeFile(t, b, withVersion("b2"))
	select {
	case ev := <-evs:
		if ev.Err != nil || !isVersion(ev.NewVersion, "b2") || !isVersion(s.Version(), "b2") {
			t.Fatalf("watch after path switch: %+v (active %s)", ev, s.Version())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reload event for the new policy file")
	}
}

// Two policy files with the same metadata.version but different content
// get different versions.
func TestVersionCarriesContentHash(t *testing.T) {
	p1 := mustParse(t, withVersion("2026-11-24.1"))
	p2 := mustParse(t, withVersion("2026-11-24.1")+"\n# edited\n")
	if p1.Version() == p2.Version() || !isVersion(p1.Version(), "2026-11-24.1") || p1.DeclaredVersion() != "2026-11-24.1" {
		t.Fatalf("versions %q %q", p1.Version(), p2.Version())
	}
	if d := p2.Evaluate(&Input{Server: "x"}); d.PolicyVersion != p2.Version() {
		t.Fatalf("decision version %q", d.PolicyVersion)
	}
}
