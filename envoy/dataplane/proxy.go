package dataplane

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// Proxy is the embedded data plane. It is safe for concurrent use.
type Proxy struct {
	routes    []Route // sorted longest prefix first
	filter    FilterConfig
	client    extprocv3.ExternalProcessorClient
	limit     int64
	transport http.RoundTripper
	catchAll  string
	log       *slog.Logger
	checker   *checker
	clock     Clock
	localFmt  func(status int, details string) (contentType string, body []byte)
	recorder  LocalReplyRecorder
	stats     stats
}

var _ http.Handler = (*Proxy)(nil)

// Stats are Envoy-named counters of the ext_proc filter.
type Stats struct {
	StreamsStarted               int64
	SpuriousMsgsReceived         int64
	MessageTimeouts              int64
	RejectedHeaderMutations      int64
	FailureModeAllowed           int64
	StreamsFailed                int64
	OverrideMessageTimeoutRecv   int64
	OverrideMessageTimeoutIgnore int64
	ImmediateResponses           int64
	LocalReplies                 int64
	Resets                       int64
}

type stats struct {
	streamsStarted, spurious, timeouts, rejected, failOpen, failed,
	overrideRecv, overrideIgnored, immediate, local, resets atomic.Int64
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	s := &p.stats
	return Stats{
		StreamsStarted: s.streamsStarted.Load(), SpuriousMsgsReceived: s.spurious.Load(),
		MessageTimeouts: s.timeouts.Load(), RejectedHeaderMutations: s.rejected.Load(),
		FailureModeAllowed: s.failOpen.Load(), StreamsFailed: s.failed.Load(),
		OverrideMessageTimeoutRecv: s.overrideRecv.Load(), OverrideMessageTimeoutIgnore: s.overrideIgnored.Load(),
		ImmediateResponses: s.immediate.Load(), LocalReplies: s.local.Load(), Resets: s.resets.Load(),
	}
}

// New validates cfg (all problems joined) and builds a Proxy.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dataplane config: %w", err)
	}
	ck, err := newChecker(cfg.Filter.MutationRules)
	if err != nil {
		return nil, fmt.Errorf("dataplane config: %w", err)
	}
	p := &Proxy{
		filter:    cfg.Filter,
		client:    processorClient(cfg.Processor),
		limit:     cfg.BufferLimit,
		transport: cfg.Transport,
		catchAll:  cfg.CatchAllPrefix,
		log:       cfg.Logger,
		checker:   ck,
		clock:     cfg.Clock,
		localFmt:  cfg.LocalReply,
		recorder:  cfg.Recorder,
	}
	if p.clock == nil {
		p.clock = wallClock{}
	}
	if p.filter.MessageTimeout == 0 {
		p.filter.MessageTimeout = defaultMessageTimeout
	}
	if p.filter.StatusOnError == 0 {
		p.filter.StatusOnError = http.StatusInternalServerError
	}
	if p.limit == 0 {
		p.limit = defaultBufferLimit
	}
	if p.transport == nil {
		p.transport = DefaultTransport()
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.routes = append([]Route(nil), cfg.Routes...)
	// longest prefix first
	for i := 1; i < len(p.routes); i++ {
		for j := i; j > 0 && len(p.routes[j].PathPrefix) > len(p.routes[j-1].PathPrefix); j-- {
			p.routes[j], p.routes[j-1] = p.routes[j-1], p.routes[j]
		}
	}
	return p, nil
}

// DefaultTransport is the upstream transport used when Config.Transport is nil:
// no proxy from the environment, no transparent gzip, no response timeout
// (SSE streams are long-lived), pooled keep-alive connections.
func DefaultTransport() *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
}

// matchPrefix reports whether path is prefix or below prefix+"/".
func matchPrefix(path, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// routeFor selects the route for a :path value (query ignored).
func (p *Proxy) routeFor(pathQuery string) *Route {
	path := pathQuery
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	for i := range p.routes {
		if matchPrefix(path, p.routes[i].PathPrefix) {
			return &p.routes[i]
		}
	}
	return nil
}

// upstreamURL maps :path onto the route's upstream (prefix rewrite).
func upstreamURL(base *url.URL, prefix, pathQuery string) *url.URL {
	path, query := pathQuery, ""
	if i := strings.IndexByte(pathQuery, '?'); i >= 0 {
		path, query = pathQuery[:i], pathQuery[i+1:]
	}
	u := *base
	if matchPrefix(path, prefix) {
		rest := strings.TrimPrefix(path, prefix)
		if prefix == "/" {
			rest = path
		}
		if rest != "" && !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		p := strings.TrimSuffix(base.EscapedPath(), "/") + rest
		if p == "" {
			p = "/"
		}
		path = p
	}
	// path is in escaped form (the client's escapes, normalised): keep them.
	u.RawPath = path
	if dec, err := url.PathUnescape(path); err == nil {
		u.Path = dec
	} else {
		u.Path, u.RawPath = path, ""
	}
	u.RawQuery = query
	u.Fragment = ""
	return &u
}

// ServeHTTP proxies one request through ext_proc to its upstream.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		target = r.URL.RequestURI() // absolute-form request target
	}
	path, err := normalizePath(target)
	if err != nil {
		// Like Envoy's path normalisation: refused before routing and
		// before ext_proc, so nothing is forwarded anywhere.
		p.localOnly(w, r, http.StatusBadRequest, "path_normalization_failed", err.Error())
		return
	}
	rt := p.routeFor(path)
	if rt == nil && (p.catchAll == "" || !strings.HasPrefix(path, p.catchAll)) {
		p.localOnly(w, r, http.StatusNotFound, "route_not_found", "no route")
		return
	}
	ex := newExchange(p, w, r, rt, path)
	ex.run()
}

// localOnly answers a request the proxy refuses before any processing.
// Its body is not read: on HTTP/1 the connection is closed after the reply.
func (p *Proxy) localOnly(w http.ResponseWriter, r *http.Request, code int, details, msg string) {
	p.stats.local.Add(1)
	traceFrom(r.Context()).add(TraceEvent{Time: p.clock.Now(), Kind: EventLocalReply, Status: code, Details: details})
	p.recordLocal(r, nil, code, details, false)
	var hdr headerList
	if r.ProtoMajor == 1 && r.Body != nil && r.Body != http.NoBody {
		hdr.set("connection", "close")
	}
	hdr, body := p.formatLocal(code, details, hdr, []byte(msg+"\n"))
	writeLocal(w, code, hdr, body)
}

// formatLocal applies Config.LocalReply to a proxy-generated reply.
func (p *Proxy) formatLocal(code int, details string, hdr headerList, body []byte) (headerList, []byte) {
	if p.localFmt == nil {
		return hdr, body
	}
	ct, b := p.localFmt(code, details)
	if b == nil {
		return hdr, body
	}
	if ct != "" {
		hdr.set("content-type", ct)
	}
	return hdr, b
}

// Trace records one request's ext_proc conversation and outcome; attach it
// with WithTrace. Safe for concurrent use.
type Trace struct {
	mu     sync.Mutex
	events []TraceEvent
}

// EventKind classifies a TraceEvent.
type EventKind string

// Trace event kinds.
const (
	EventSent       EventKind = "sent"        // ProcessingRequest to the processor
	EventReceived   EventKind = "received"    // ProcessingResponse from the processor
	EventLocalReply EventKind = "local_reply" // proxy-generated response (Status, Details)
	EventReset      EventKind = "reset"       // downstream stream reset (Details)
	EventStreamEnd  EventKind = "stream_end"  // gRPC stream ended or closed (Details)
	EventBodyEnd    EventKind = "body_end"    // the whole body arrived from the client or upstream (Details: request/response)
	EventWatermark  EventKind = "watermark"   // reading paused: held data above the buffer limit (Details: request/response)
)

// TraceEvent is one entry of a Trace.
type TraceEvent struct {
	Time     time.Time
	Kind     EventKind
	Request  *extprocv3.ProcessingRequest
	Response *extprocv3.ProcessingResponse
	Status   int
	Details  string
}

func (t *Trace) add(e TraceEvent) {
	if t == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

// Events returns a copy of the recorded events.
func (t *Trace) Events() []TraceEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TraceEvent(nil), t.events...)
}

// LocalReply returns the last local reply or reset (status 0 for a reset), if any.
func (t *Trace) LocalReply() (status int, details string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.events) - 1; i >= 0; i-- {
		if e := t.events[i]; e.Kind == EventLocalReply || e.Kind == EventReset {
			return e.Status, e.Details, true
		}
	}
	return 0, "", false
}

type traceKey struct{}

// WithTrace returns a context that makes the proxy record the request's
// transcript into t (wrap the request: r.WithContext(WithTrace(r.Context(), t))).
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// writeLocal writes a local reply: text/plain unless hdr sets a content-type,
// content-length set, nothing for an empty body.
func writeLocal(w http.ResponseWriter, status int, hdr headerList, body []byte) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	hdr.toHTTP(h)
	if len(body) > 0 {
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "text/plain")
		}
		h.Set("Content-Length", fmt.Sprint(len(body)))
	} else {
		h.Del("Content-Type")
		h.Del("Content-Length")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
