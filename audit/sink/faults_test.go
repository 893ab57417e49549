package sink

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangingTransport is a service that accepts connections but does not
// answer until released (or until the exporter's per-call timeout).
type hangingTransport struct {
	release chan struct{}
	inSend  atomic.Int32
	mu      sync.Mutex
	got     []string
}

func (h *hangingTransport) Limits() Limits { return Limits{MaxEvents: 5} }
func (h *hangingTransport) Send(ctx context.Context, events [][]byte) error {
	h.inSend.Add(1)
	defer h.inSend.Add(-1)
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range events {
		h.got = append(h.got, string(e))
	}
	return nil
}

func (h *hangingTransport) delivered() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

type counts struct{ errors, delivered, dropped atomic.Int64 }

func (c *counts) opts(o Options) Options {
	o.OnError = func(string, error) { c.errors.Add(1) }
	o.OnDelivered = func(_ string, n int) { c.delivered.Add(int64(n)) }
	o.OnDropped = func(_ string, n int) { c.dropped.Add(int64(n)) }
	return o
}

// waitUntil bounds a wait for background delivery; it orders nothing.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestFaultSinkHangsSpoolBounded: the service hangs. Writing never waits
// for it; the spool holds at most MaxSpoolBytes and every event past that
// is dropped and counted; once the service answers, what was spooled is
// delivered, counted, and the spool has room again.
func TestFaultSinkHangsSpoolBounded(t *testing.T) {
	h := &hangingTransport{release: make(chan struct{})}
	var c counts
	const size = int64(len(`{"seq":000}`) + 1)
	o := c.opts(fastOpts(t.TempDir()))
	o.MaxSpoolBytes = 10 * size
	e, err := New("siem", h, o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 50 {
		e.WriteRecord(fmt.Appendf(nil, `{"seq":%03d}`, i))
	}
	// All 50 writes returned while the service holds the first batch.
	waitUntil(t, "a batch in flight", func() bool { return h.inSend.Load() == 1 })
	if got := c.dropped.Load(); got != 40 {
		t.Fatalf("dropped %d events, want 40 (spool bound 10 events)", got)
	}
	if got := e.Stats().Dropped; got != 40 {
		t.Fatalf("Stats().Dropped = %d, want 40", got)
	}
	if got := e.SpoolBytes(); got != 10*size {
		t.Fatalf("spool holds %d bytes, want %d", got, 10*size)
	}
	close(h.release)
	waitUntil(t, "delivery after the service answers", func() bool { return c.delivered.Load() == 10 })
	waitUntil(t, "spool emptied", func() bool { return e.SpoolBytes() == 0 })
	if h.delivered() != 10 {
		t.Fatalf("service received %d events, want the 10 spooled", h.delivered())
	}
	// Room again: the next event is spooled and delivered, not dropped.
	e.WriteRecord([]byte(`{"seq":999}`))
	waitUntil(t, "delivery of a new event", func() bool { return c.delivered.Load() == 11 })
	if got := c.dropped.Load(); got != 40 {
		t.Fatalf("dropped %d after recovery, want still 40", got)
	}
}

// TestFaultSinkSlowCallsTimeOut: each call to a service that never answers
// is abandoned after Options.Timeout, counted as an error and retried; the
// events stay spooled (nothing dropped) and go out once it answers.
func TestFaultSinkSlowCallsTimeOut(t *testing.T) {
	h := &hangingTransport{release: make(chan struct{})}
	var c counts
	o := c.opts(fastOpts(t.TempDir()))
	o.Timeout = 5 * time.Millisecond // a bound on each attempt, not an ordering
	e, err := New("siem", h, o)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 5 {
		e.WriteRecord(fmt.Appendf(nil, `{"seq":%03d}`, i))
	}
	waitUntil(t, "two timed-out attempts", func() bool { return c.errors.Load() >= 2 })
	if c.delivered.Load() != 0 || c.dropped.Load() != 0 {
		t.Fatalf("delivered %d, dropped %d while the service hangs", c.delivered.Load(), c.dropped.Load())
	}
	close(h.release)
	// Attempts still time out when the release races the deadline; the
	// retry loop gets through eventually.
	waitUntil(t, "delivery", func() bool { return c.delivered.Load() == 5 })
	if c.dropped.Load() != 0 {
		t.Fatalf("dropped %d", c.dropped.Load())
	}
}

// TestDeadLetterCountsAsDropped: a permanent rejection moves the events to
// a dead-letter file and reports them as dropped.
func TestDeadLetterCountsAsDropped(t *testing.T) {
	ft := &fakeTransport{lim: Limits{MaxEvents: 10}, fail: []error{&PermanentError{Err: fmt.Errorf("schema rejected")}}}
	var c counts
	e, err := New("siem", ft, c.opts(fastOpts(t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 3 {
		e.WriteRecord(fmt.Appendf(nil, `{"seq":%d}`, i))
	}
	waitUntil(t, "dead letter", func() bool { return c.dropped.Load() == 3 })
	if e.SpoolBytes() != 0 {
		t.Fatalf("spool holds %d bytes after dead-lettering", e.SpoolBytes())
	}
}
