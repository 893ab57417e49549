package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-mcp/portcullis/mcp"
)

// upstreamHeadersToRemove are dropped from every upstream request, as the
// shipped Envoy configs do: an upstream asked for no encoding never
// compresses a body past the processor (issue 11 #1).
var upstreamHeadersToRemove = []string{"Accept-Encoding"}

// jsonRPCLocalReply formats the data plane's own refusals (bad path, no
// route, body too large, processor timeout or failure, upstream down) as
// JSON-RPC errors, so MCP clients show a reason instead of a text body.
func jsonRPCLocalReply(status int, details string) (string, []byte) {
	code := mcp.CodeInternalError
	if status < 500 {
		code = mcp.CodeInvalidRequest
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = "error"
	}
	return "application/json", mcp.ErrorResponse("", code, "gateway: "+msg+" ("+details+")", nil)
}

// MetricLocalReplies counts the embedded data plane's own replies by HTTP
// status and reason (Envoy's response code details): refusals the
// processor never sees, such as a path that escapes its route ("..",
// "%2e%2e", "%2f"; details path_normalization_failed), an unknown route, a
// body past the buffer limit or a processor failure. They leave no audit
// record, because no message was read; this counter is their trace.
const MetricLocalReplies = "portcullis_dataplane_local_replies_total"

// maxLocalReplyDetails bounds the details label; the data plane's reasons
// are code constants, so the bound is never reached in practice.
const maxLocalReplyDetails = 32

// localReplies meters and formats the data plane's own replies.
type localReplies struct {
	c    *prometheus.CounterVec
	mu   sync.Mutex
	seen map[string]bool
}

// newLocalReplies registers the counter on reg (reusing one already
// registered there by an earlier gateway sharing the registry).
func newLocalReplies(reg *prometheus.Registry) *localReplies {
	l := &localReplies{seen: map[string]bool{}, c: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricLocalReplies,
		Help: "Replies the embedded data plane generated itself (never seen by the processor) by status and reason."}, []string{"status", "details"})}
	if reg != nil {
		if err := reg.Register(l.c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if c, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
					l.c = c
				}
			}
		}
	}
	return l
}

// reply is the data plane's LocalReply hook: it counts the reply and
// formats it as a JSON-RPC error.
func (l *localReplies) reply(status int, details string) (string, []byte) {
	l.mu.Lock()
	d := details
	if !l.seen[d] {
		if len(l.seen) >= maxLocalReplyDetails {
			d = "other"
		} else {
			l.seen[d] = true
		}
	}
	l.mu.Unlock()
	l.c.WithLabelValues(strconv.Itoa(status), d).Inc()
	return jsonRPCLocalReply(status, details)
}
