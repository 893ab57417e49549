package extproc

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// Finding is one detector result as the processor uses it: enough for the
// policy (types, counts, confidence) and for result rewriting (Path), never
// the matched value.
type Finding struct {
	Detector   string
	Category   string
	EntityType string
	Path       string // JSON path inside the scanned value, e.g. "content.0.text"
	Confidence float64
	Count      int
	// Value is the matched text, kept in memory only for the behaviour
	// engine's verbatim-reuse check (which stores salted hashes). It is
	// never logged, audited or exported.
	Value string
}

// Behavior is the session and behaviour engine (policy/behavior).
type Behavior interface {
	OnCall(ctx context.Context, c behavior.Call) behavior.Verdict
	OnResult(ctx context.Context, r behavior.Result)
	PinTools(ctx context.Context, server string, tools []behavior.ToolDef) behavior.PinReport
}

// BehaviorSource yields the active behaviour engine (nil: none).
type BehaviorSource interface {
	Current() Behavior
}

// Detector is what the processor needs from the detection engine. It is
// defined here, where it is used; gateway adapts detectors.Engine to it.
type Detector interface {
	// Scan inspects a JSON value (tool arguments or a tool result). An
	// error means the value could not be inspected; the processor then
	// refuses it (fail closed).
	Scan(raw []byte) ([]Finding, error)
	// ScanTools returns the names of poisoned tools in a tools/list result,
	// each with a short reason.
	ScanTools(result []byte) (map[string]string, error)
	// Redact rewrites sensitive values in a JSON value with surrogates.
	// vault names the caller's vault (principal, route and session); ""
	// makes them one-way. types limits redaction to entity types (empty =
	// all); style is the policy's redact.style ("" = configured default).
	Redact(raw []byte, vault string, types []string, style string) ([]byte, error)
	// Restore replaces surrogates from the named vault with the originals,
	// so tools receive real values the model never saw.
	Restore(raw []byte, vault string) ([]byte, int, error)
}

// ScanReport is a detector's own record of one scan, opaque to the
// processor: it is only handed back to the same detector's RedactWith.
type ScanReport any

// ReportScanner is implemented by a Detector that keeps what a scan found,
// so redacting the value it scanned reuses the scan's matches instead of
// detecting a second time (issue 10). Output must equal Scan/ScanRequest
// and Redact's; a report that does not belong to raw makes RedactWith
// detect again.
type ReportScanner interface {
	// ScanKept is Scan (request: ScanRequest, when the detector is a
	// RequestScanner) that also returns the scan's report.
	ScanKept(raw []byte, request bool) ([]Finding, ScanReport, error)
	// RedactWith is Redact reusing rep, the report of scanning exactly raw
	// (nil: detect again).
	RedactWith(raw []byte, rep ScanReport, vault string, types []string, style string) ([]byte, error)
}

// scanKept scans raw, keeping the report when the detector can reuse it.
func scanKept(d Detector, raw []byte, request bool) ([]Finding, ScanReport, error) {
	if rs, ok := d.(ReportScanner); ok {
		return rs.ScanKept(raw, request)
	}
	if request {
		fs, _, err := scanRequest(d, raw)
		return fs, nil, err
	}
	fs, err := d.Scan(raw)
	return fs, nil, err
}

// redactWith redacts raw, reusing rep when the detector can.
func redactWith(d Detector, raw []byte, rep ScanReport, vault string, types []string, style string) ([]byte, error) {
	if rs, ok := d.(ReportScanner); ok && rep != nil {
		return rs.RedactWith(raw, rep, vault, types, style)
	}
	return d.Redact(raw, vault, types, style)
}

// IdentityResolver establishes who the agent is from request headers and
// the ext_proc attributes Envoy sends.
type IdentityResolver interface {
	Resolve(headers map[string]string, attrs map[string]*structpb.Struct) (policy.Identity, error)
}

// PolicySource yields the active policy (nil: trust plane and built-in
// result rules only).
type PolicySource interface {
	Current() *policy.Policy
}

// Auditor receives one record per decision. Append must not block on disk.
type Auditor interface {
	Append(r *audit.Record) error
	Digest(b []byte) string
	Content() bool
}

// ErrStateUnavailable marks a Detector error caused by shared state that
// cannot be reached (the surrogate vault on Redis): the message is refused
// with a reason that names it, never forwarded with surrogates or values.
var ErrStateUnavailable = errors.New("shared state unavailable")

// Approvals decides calls the policy says need a person's approval
// (package approval): approved lets the call through once, anything else
// is answered with approval.Reply.
type Approvals interface {
	Check(ctx context.Context, b approval.Binding) (approval.Result, error)
}

// ResultRules are the built-in result-plane rules used when no policy is
// configured. Values: "notice" (replace offending content blocks), "block"
// (replace the result with an error), "redact" (reversible surrogates),
// "allow".
type ResultRules struct {
	Injection string
	Secrets   string
	PII       string
}

// DefaultResultRules is the safe default: hide injected content, redact
// secrets and personal data.
var DefaultResultRules = ResultRules{Injection: "notice", Secrets: "redact", PII: "redact"}

// DefaultRequestRules protect what clients send when no policy rule
// decides: injections and secrets are refused, personal data is redacted
// (issue 11 #20). "notice" means "block" on the request plane.
var DefaultRequestRules = ResultRules{Injection: "block", Secrets: "block", PII: "redact"}

// RequestInjectionMinConfidence is the injection score the built-in request
// rule refuses at when the Detector has no request plane (RequestScanner,
// requestplane.go) and arguments are scored with the result-plane threshold.
// A refused call cannot be delivered in part (a result can, with a notice),
// and the result-plane model scores some benign short instructions above 0.9
// ("Please provide your information": 0.92), so such a detector's findings
// are refused only at high confidence; lower ones are audited and reach the
// policy (findings, risk) like any other.
const RequestInjectionMinConfidence = 0.95

// Engines are the optional collaborators of the processor. Nil fields are
// skipped; a processor without engines enforces the trust plane only.
type Engines struct {
	Detector    Detector
	Identity    IdentityResolver
	Policy      PolicySource
	Audit       Auditor
	Telemetry   *telemetry.Telemetry
	Behavior    BehaviorSource
	Approvals   Approvals
	ResultRules ResultRules
	// RequestRules apply to client→server content when no policy rule
	// decides (zero value: DefaultRequestRules).
	RequestRules ResultRules
	// Observers see every final outcome (see record).
	Observers []Observer
}

// WithEngines sets the detection, identity, policy, audit and telemetry engines.
func WithEngines(e Engines) Option { return func(s *Server) { s.eng = e } }

// annotationCache remembers tool annotations from tools/list results per
// server, so request-plane risk can use them. Bounded: annotations of at most
// maxAnnotations tools are kept.
type annotationCache struct {
	mu sync.RWMutex
	m  map[string]*policy.ToolAnnotations
}

const maxAnnotations = 10000

func (c *annotationCache) get(server, tool string) *policy.ToolAnnotations {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[server+"\x00"+tool]
}

func (c *annotationCache) put(server, tool string, a *policy.ToolAnnotations) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*policy.ToolAnnotations{}
	}
	if len(c.m) >= maxAnnotations {
		if _, ok := c.m[server+"\x00"+tool]; !ok {
			return
		}
	}
	c.m[server+"\x00"+tool] = a
}

// withheldTools remembers tools withheld from tools/list as poisoned or
// changed, per server, so they cannot be called by name (issue 11 #19).
// Bounded; a later clean listing releases a tool.
type withheldTools struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxWithheld = 10000

func (w *withheldTools) reason(server, tool string) (string, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	r, ok := w.m[server+"\x00"+tool]
	return r, ok
}

func (w *withheldTools) set(server, tool, reason string, bad bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := server + "\x00" + tool
	if !bad {
		delete(w.m, k)
		return
	}
	if w.m == nil {
		w.m = map[string]string{}
	}
	if len(w.m) < maxWithheld {
		w.m[k] = reason
	}
}

// serverRequestMethods maps the ids of server→client requests to their
// method, so a client's reply (sent on a later POST) is decided as a reply
// to sampling/createMessage or elicitation/create. Bounded FIFO.
type serverRequestMethods struct {
	mu    sync.Mutex
	m     map[string]string
	order []string
}

const maxServerRequests = 4096

func (s *serverRequestMethods) put(server, session string, id mcp.ID, method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	k := server + "\x00" + session + "\x00" + string(id)
	if _, ok := s.m[k]; !ok {
		s.order = append(s.order, k)
	}
	s.m[k] = method
	for len(s.order) > maxServerRequests {
		delete(s.m, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *serverRequestMethods) take(server, session string, id mcp.ID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := server + "\x00" + session + "\x00" + string(id)
	m := s.m[k]
	delete(s.m, k)
	return m
}

// shadowSem bounds concurrent off-path shadow evaluations.
var shadowSem = make(chan struct{}, 64)

func runShadow(ctx context.Context, log *slog.Logger, fn func()) {
	select {
	case shadowSem <- struct{}{}:
		go func() {
			defer func() { <-shadowSem }()
			fn()
		}()
	default:
		log.Debug("shadow evaluation skipped: too many in flight")
	}
}
