package gateway

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/portcullis-mcp/portcullis/mcp"
)

// inflight caps the request bytes the embedded data plane holds at once
// (limits.max_inflight_bytes, issue 11 #23). Each request reserves its
// declared length (or max_body_bytes when it declares none) before its body
// is read; a request that does not fit is answered 503 at once. Refusing
// instead of queueing keeps the bound exact and never holds a client's
// connection waiting for memory.
type inflight struct {
	mu    sync.Mutex
	used  int64
	limit func() (inflightCap, bodyCap int64) // read per request: reloadable
}

func (f *inflight) reserve(n, capBytes int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.used+n > capBytes {
		return false
	}
	f.used += n
	return true
}

func (f *inflight) release(n int64) {
	f.mu.Lock()
	f.used -= n
	f.mu.Unlock()
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
			body := mcp.ErrorResponse("", mcp.CodeInternalError,
				"the gateway is at its limit of "+strconv.FormatInt(capBytes, 10)+" in-flight request bytes (limits.max_inflight_bytes); retry shortly", nil)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(body)
			return
		}
		defer f.release(n)
		h.ServeHTTP(w, r)
	})
}
