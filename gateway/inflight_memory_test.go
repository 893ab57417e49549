package gateway

import (
	"testing"
	"time"
)

// Issue 11 #23: memory held by a burst of large bodies is given back to the
// OS once the burst drains, rate-limited, and never for small traffic. The
// clock is injected and FreeOSMemory observed: no timing.
func TestInflightReturnsMemoryAfterBurst(t *testing.T) {
	const capBytes = 64 << 20 // returnAfter: 16 MiB
	const body = 3 << 20
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	freed := make(chan struct{}, 8)
	var pending func()
	var pendingAfter time.Duration
	f := &inflight{now: func() time.Time { return now }, freeOS: func() { freed <- struct{}{} },
		after: func(d time.Duration, fn func()) { pendingAfter, pending = d, fn }}
	wait := func() {
		t.Helper()
		select {
		case <-freed:
		case <-time.After(10 * time.Second): // safety net only
			t.Fatal("memory was not returned")
		}
		// returnMemory records the return after freeOS: take the lock
		// until it has.
		for {
			f.mu.Lock()
			busy := f.freeing
			f.mu.Unlock()
			if !busy {
				return
			}
		}
	}
	none := func(what string) {
		t.Helper()
		select {
		case <-freed:
			t.Fatalf("%s: memory returned", what)
		default:
		}
	}
	burst := func(k int) {
		t.Helper()
		for i := 0; i < k; i++ {
			if !f.reserve(body, capBytes) {
				t.Fatalf("reserve %d refused", i)
			}
		}
	}
	drain := func(k int) {
		for i := 0; i < k; i++ {
			f.release(body, capBytes)
		}
	}

	// Small traffic (12 MiB at most in flight) never forces a collection.
	for i := 0; i < 100; i++ {
		burst(4)
		drain(4)
	}
	none("small traffic")

	// A 60 MiB burst: nothing while it is mostly in flight, one return
	// when it has drained to a quarter.
	burst(20)
	drain(14) // 18 MiB still in flight: above a quarter of 60
	none("burst still in flight")
	drain(1) // 15 MiB: a quarter
	wait()
	drain(5)
	none("the rest of the same burst")

	// A second burst within returnEvery is returned once the rate limit
	// allows: one scheduled return, however many releases follow.
	now = now.Add(returnEvery - time.Second)
	burst(20)
	drain(20)
	none("second burst within the rate limit")
	if pending == nil || pendingAfter != time.Second {
		t.Fatalf("scheduled return after %v (%v), want one after 1s", pendingAfter, pending != nil)
	}
	fire := pending
	pending = nil
	burst(20)
	drain(20)
	if pending != nil {
		t.Fatal("a second return scheduled while one is pending")
	}
	now = now.Add(time.Second)
	fire() // the timer fires (run inline: it returns synchronously)
	select {
	case <-freed:
	default:
		t.Fatal("the scheduled return did not return memory")
	}

	// A third burst after the rate limit is returned at once again.
	now = now.Add(returnEvery)
	burst(20)
	drain(20)
	wait()
	if f.used != 0 {
		t.Fatalf("%d bytes still accounted in flight", f.used)
	}
}
