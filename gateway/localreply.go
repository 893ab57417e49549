package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-mcp/portcullis/envoy/dataplane"
	"github.com/portcullis-mcp/portcullis/extproc"
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
// body past the buffer limit or a processor failure. Each is also one
// audit record (localAudit), with the reason as rule "dataplane:<details>".
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
	l.count(status, details)
	return jsonRPCLocalReply(status, details)
}

// count meters one local reply.
func (l *localReplies) count(status int, details string) {
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
}

// detailsInflightLimit is the reason of a request refused at
// limits.max_inflight_bytes (gateway/inflight.go).
const detailsInflightLimit = "inflight_limit"

// localAudit records the data plane's own replies in the audit log, once
// each (dataplane.LocalReplyRecorder): decision block, the reason as rule
// ("dataplane:path-normalization-failed"), the route's server and the
// method when a header named it. No body is read, so none is recorded.
type localAudit struct {
	proc *extproc.Server
	log  *slog.Logger
}

// RecordLocalReply implements dataplane.LocalReplyRecorder.
func (a localAudit) RecordLocalReply(r dataplane.LocalReply) {
	code := 0
	if r.Status != 0 {
		code = mcp.CodeInternalError
		if r.Status < 500 {
			code = mcp.CodeInvalidRequest
		}
	}
	err := a.proc.RecordLocal(extproc.LocalRefusal{Server: r.Route, Method: r.MCPMethod, Rule: localRule(r.Details), Code: code, Result: r.Response})
	if err != nil && a.log != nil {
		a.log.Error("audit of a data plane reply failed", "details", r.Details, "error", err)
	}
}

// maxLocalRule bounds the rule: details are code constants, but an ext_proc
// error's details carry the gRPC status text.
const maxLocalRule = 96

// localRule is the audit rule of a local reply: "dataplane:" and its
// details in the rules' kebab case (letters and digits kept, every other
// run of bytes one dash: "upstream_reset_before_response_started{connection_failure}"
// is "dataplane:upstream-reset-before-response-started-connection-failure").
func localRule(details string) string {
	var b strings.Builder
	b.WriteString("dataplane:")
	dash := false
	for i := 0; i < len(details) && b.Len() < maxLocalRule; i++ {
		c := details[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
			if dash && b.Len() > len("dataplane:") {
				b.WriteByte('-')
			}
			b.WriteByte(c)
			dash = false
			continue
		}
		dash = true
	}
	if b.Len() == len("dataplane:") {
		b.WriteString("local-reply")
	}
	r := b.String()
	if len(r) > maxLocalRule {
		r = r[:maxLocalRule]
	}
	return r
}
