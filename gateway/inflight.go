package gateway

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/portcullis-mcp/portcullis/mcp"
)

// inflight caps the request bytes the embedded data plane holds at once
// (limits.max_inflight_bytes, issue 11 #23). Each request reserves its
// declared length (or max_body_bytes when it declares none) before its body
// is read; a request that does not fit is answered 503 at once. Refusing
// instead of queueing keeps the bound exact and never holds a client's
// connection waiting for memory.
//
// After a burst it also gives the memory back: Go's background scavenger
// returns freed heap to the OS only slowly, so after 50 concurrent 3 MiB
// bodies RSS stayed near its peak for minutes. When the bytes in flight fall
// to a quarter of a peak of at least returnAfter(cap), the heap is
// collected and returned to the OS once (debug.FreeOSMemory, off the
// request path), at most once per returnEvery; a burst that drains sooner
// is returned when returnEvery has passed.
type inflight struct {
	mu    sync.Mutex
	used  int64
	limit func() (inflightCap, bodyCap int64) // read per request: reloadable

	peak      int64     // most bytes in flight since memory was last returned
	lastFree  time.Time // when memory was last returned
	freeing   bool      // a return is running
	scheduled bool      // a rate-limited return is waiting for returnEvery
	// now, freeOS and after default to time.Now, debug.FreeOSMemory and
	// time.AfterFunc (tests inject a clock and observe the calls).
	now    func() time.Time
	freeOS func()
	after  func(d time.Duration, f func())
	// refused, if set, is told of each request refused at the cap (the
	// gateway meters and audits it like the data plane's own replies).
	refused func(r *http.Request)
}

// returnEvery rate-limits returning memory: a forced collection costs a
// few milliseconds of CPU per hundred MiB of heap.
const returnEvery = 10 * time.Second

// returnAfter is the burst size worth returning memory for: a quarter of
// the in-flight cap, at least 16 MiB (smaller bursts are the scavenger's).
func returnAfter(capBytes int64) int64 { return max(capBytes/4, 16<<20) }

func (f *inflight) reserve(n, capBytes int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.used+n > capBytes {
		return false
	}
	f.used += n
	f.peak = max(f.peak, f.used)
	return true
}

func (f *inflight) release(n, capBytes int64) {
	f.mu.Lock()
	f.used -= n
	drained := !f.freeing && f.peak >= returnAfter(capBytes) && f.used <= f.peak/4
	wait := time.Duration(0)
	if drained && !f.lastFree.IsZero() {
		wait = returnEvery - f.clock().Sub(f.lastFree)
	}
	start := drained && wait <= 0
	if start {
		f.freeing = true
	}
	later := drained && wait > 0 && !f.scheduled
	if later {
		// A burst soon after the last return: return its memory once
		// the rate limit allows, even if no request comes then.
		f.scheduled = true
	}
	f.mu.Unlock()
	switch {
	case start:
		go f.returnMemory()
	case later:
		f.schedule(wait, f.returnScheduled)
	}
}

// returnScheduled runs a rate-limited return, unless another return ran
// meanwhile.
func (f *inflight) returnScheduled() {
	f.mu.Lock()
	f.scheduled = false
	start := !f.freeing && f.peak > f.used
	if start {
		f.freeing = true
	}
	f.mu.Unlock()
	if start {
		f.returnMemory()
	}
}

func (f *inflight) schedule(d time.Duration, fn func()) {
	if f.after != nil {
		f.after(d, fn)
		return
	}
	time.AfterFunc(d, fn)
}

// returnMemory gives the heap freed by a burst back to the OS.
func (f *inflight) returnMemory() {
	free := f.freeOS
	if free == nil {
		free = debug.FreeOSMemory
	}
	free()
	f.mu.Lock()
	f.freeing, f.lastFree, f.peak = false, f.clock(), f.used
	f.mu.Unlock()
}

func (f *inflight) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// wrap applies the cap to h. Requests without a body reserve nothing.
func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		capBytes, bodyCap := f.limit()
		n := r.ContentLength
		switch {
		case n == 0 || r.Body == nil || r.Body == http.NoBody:
			h.ServeHTTP(w, r)
			return
		case n < 0 || n > bodyCap:
			// Unknown length: the most the data plane will buffer. Longer
			// declared bodies are refused with 413 by the data plane.
			n = bodyCap
		}
		if !f.reserve(n, capBytes) {
			if f.refused != nil {
				f.refused(r)
			}
			body := mcp.ErrorResponse("", mcp.CodeInternalError,
				"the gateway is at its limit of "+strconv.FormatInt(capBytes, 10)+" in-flight request bytes (limits.max_inflight_bytes); retry shortly", nil)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(body)
			return
		}
		defer f.release(n, capBytes)
		h.ServeHTTP(w, r)
	})
}
