package extproc

import (
	"cmp"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/policy"
)

// Outcome is the final result of deciding one message. It is complete before
// anything is emitted: record turns it into the audit record, the decision
// metric, the span attributes and the observers' views, all from the same
// values, so they cannot disagree.
type Outcome struct {
	Plane    audit.Plane
	Decision audit.Decision // what the gateway did
	WouldBe  audit.Decision // what full enforcement would have done
	// Agent, Session, Server and Method identify the exchange; Tool is the
	// tool, prompt or resource the message names; RPCID is the JSON-RPC id.
	Agent, Session, Server, Method, Tool, RPCID string
	// ClientID and Actor are the agent's OAuth client and RFC 8693
	// delegation chain (from its validated token; empty otherwise).
	ClientID      string
	Actor         []string
	DecisionID    string
	Rules         []string
	Risk          int
	Factors       []policy.Factor
	Findings      []Finding
	PolicyVersion string
	// ErrorType is the JSON-RPC error code answered in place of the message
	// ("" when it passed).
	ErrorType string
	// ArgsDigest and ResultDigest are keyed digests of the inspected content.
	ArgsDigest, ResultDigest string
	// Content is the inspected content, set only when audit content is on.
	Content *audit.Content
	// Duration is the time since the call started (results of tracked calls).
	Duration time.Duration
	// metricServer is the bounded label for the server (configured names
	// only).
	metricServer string
	// Action, WouldAction, Mode and Enforced are the policy decision's
	// (empty when the policy engine did not decide).
	Action, WouldAction policy.Action
	Mode                policy.Mode
	Enforced            bool
	// decision is DecisionRecord's result, built once for the span and
	// every observer.
	decision *decisionlog.Decision
}

// Observer receives every final outcome (decision logs, per-tool metrics).
// It must not block and must not retain o.
type Observer interface {
	Observe(o *Outcome)
}

// record emits the views of a final outcome: span attributes, the decision
// metric, observers and the audit record. It is the only place an outcome
// leaves the processor. The returned error is the audit log's: a caller
// that can still refuse must do so, because a decision nobody can audit
// must not take effect.
func (st *stream) record(o *Outcome) error {
	if o.DecisionID == "" {
		o.DecisionID = policy.NewID()
	}
	if o.WouldBe == 0 {
		o.WouldBe = o.Decision
	}
	if o.metricServer == "" {
		o.metricServer = st.serverName
		if st.server == nil {
			o.metricServer = "unknown" // keep metric labels to configured names
		}
	}
	if cs := st.calls[mcp.ID(o.rawID())]; cs != nil && o.Method == "tools/call" && cs.span.Recording() {
		cs.span.SetDecision(o.Decision, o.Risk, o.Rules)
		cs.span.SetDecisionRecord(o.DecisionRecord())
	}
	if t := st.srv.eng.Telemetry; t != nil {
		t.Decision(o.metricServer, o.Plane, o.Decision)
	}
	for _, ob := range st.srv.eng.Observers {
		ob.Observe(o)
	}
	if st.srv.eng.Audit == nil {
		return nil
	}
	return st.srv.appendAudit(o.auditRecord())
}

// rawID returns the id as the pending/calls maps key it.
func (o *Outcome) rawID() string {
	if o.RPCID == "" {
		return ""
	}
	if _, err := strconv.ParseInt(o.RPCID, 10, 64); err == nil {
		return o.RPCID
	}
	return strconv.Quote(o.RPCID)
}

func (o *Outcome) auditRecord() *audit.Record {
	r := audit.NewRecord(o.Plane, o.Decision)
	r.WouldBe = o.WouldBe
	r.Agent, r.Session, r.Server, r.Tool, r.Method, r.RPCID = o.Agent, o.Session, o.Server, o.Tool, o.Method, o.RPCID
	r.ClientID, r.Actor = o.ClientID, append(r.Actor[:0], o.Actor...)
	r.DecisionID, r.PolicyVersion, r.Risk, r.ErrorType = o.DecisionID, o.PolicyVersion, o.Risk, o.ErrorType
	r.Rules = append(r.Rules, o.Rules...)
	for _, f := range o.Factors {
		r.Factors = append(r.Factors, audit.Factor{Name: f.Name, Score: f.Value, Weight: f.Weight, Reason: f.Reason})
	}
	r.Findings = append(r.Findings, findingCounts(o.Findings)...)
	r.ArgsDigest, r.ResultDigest, r.Content, r.Duration = o.ArgsDigest, o.ResultDigest, o.Content, o.Duration
	return r
}

// findingCounts groups findings by type for the audit record (no values).
func findingCounts(fs []Finding) []audit.Finding {
	if len(fs) == 0 {
		return nil
	}
	var out []audit.Finding
	for _, f := range fs {
		typ := f.EntityType
		if typ == "" {
			typ = f.Detector + ":" + f.Category
		}
		found := false
		for i := range out {
			if out[i].Type == typ {
				out[i].Count += max(1, f.Count)
				found = true
				break
			}
		}
		if !found {
			out = append(out, audit.Finding{Type: typ, Count: max(1, f.Count)})
		}
	}
	return out
}

// newOutcome starts an outcome for a message on this stream.
func (st *stream) newOutcome(plane audit.Plane, method string, id mcp.ID, tool string) *Outcome {
	o := &Outcome{
		Plane: plane, Agent: st.agent.ID, ClientID: st.agent.ClientID, Actor: st.agent.Actor, Session: st.req.sessionID,
		Server: mcp.Truncate(st.serverName, 64), Method: method, Tool: mcp.Truncate(tool, 128),
		RPCID: strings.Trim(string(id), `"`),
	}
	if st.pol != nil {
		o.PolicyVersion = st.pol.Version()
	}
	return o
}

// fromDecision copies a policy decision into the outcome.
func (o *Outcome) fromDecision(d policy.Decision) {
	ad := auditDecision(d.Action)
	if !d.Enforced && d.WouldAction != d.Action {
		ad = audit.DecisionDryRun
	}
	o.Decision, o.WouldBe = ad, auditDecision(d.WouldAction)
	o.Action, o.WouldAction, o.Mode, o.Enforced = d.Action, d.WouldAction, d.Mode, d.Enforced
	o.DecisionID, o.Risk, o.Factors = d.ID, d.Score, d.Factors
	o.Rules = append(o.Rules[:0], d.Rule)
	if d.PolicyVersion != "" {
		o.PolicyVersion = d.PolicyVersion
	}
}

// refused marks the outcome as blocked with the JSON-RPC error code answered.
func (o *Outcome) refused(code int, rule string) {
	o.Decision, o.WouldBe = audit.DecisionBlock, audit.DecisionBlock
	o.ErrorType = strconv.Itoa(code)
	if rule != "" {
		o.Rules = append(o.Rules, rule)
	}
}

// auditDecision records a decision the policy engine did not produce (trust
// plane, tool poisoning, tool pinning, unknown servers). finding, when set,
// is the finding type.
func (st *stream) auditDecision(plane audit.Plane, d audit.Decision, method string, id mcp.ID, tool, rule, finding, decisionID string) {
	if st.srv.eng.Audit == nil && st.srv.eng.Telemetry == nil && len(st.srv.eng.Observers) == 0 {
		return
	}
	o := st.newOutcome(plane, method, id, tool)
	o.Decision, o.WouldBe = d, d
	o.Rules = []string{rule}
	o.DecisionID = cmp.Or(decisionID, policy.NewID())
	if finding != "" {
		o.Findings = []Finding{{Detector: finding, Count: 1, EntityType: finding}}
	}
	if plane == audit.PlaneRequest && d == audit.DecisionBlock {
		o.ErrorType = strconv.Itoa(mcp.CodePolicyDenied)
	}
	_ = st.record(o)
}

func (s *Server) appendAudit(r *audit.Record) error {
	if s.eng.Audit == nil {
		return nil
	}
	err := s.eng.Audit.Append(r)
	if err != nil && !errors.Is(err, audit.ErrQueueFull) {
		s.logger.Error("audit append failed", "error", err)
	}
	return err
}

func auditPlane(p policy.Plane) audit.Plane {
	if p == policy.PlaneResult {
		return audit.PlaneResult
	}
	return audit.PlaneRequest
}

func auditDecision(a policy.Action) audit.Decision {
	switch a {
	case policy.ActionBlock:
		return audit.DecisionBlock
	case policy.ActionRequireApproval:
		return audit.DecisionApproval
	case policy.ActionSandbox:
		return audit.DecisionSandbox
	case policy.ActionRedact:
		return audit.DecisionRedact
	}
	return audit.DecisionAllow
}

// protocolRules names, by the Envoy response details of the local reply,
// the refusals made before any message is decided (headers, framing,
// parsing, upstream framing). Refusals absent here are recorded by the
// decision that made them (policy, trust plane, unknown server) or are not
// audited: a bare 401 without a credential and a consent request are
// discovery, not refusals.
var protocolRules = map[string]string{
	"portcullis_duplicate_header":      "protocol:duplicate-header",
	"portcullis_host_not_allowed":      "protocol:host-not-allowed",
	"portcullis_no_route":              "protocol:no-route",
	detailsBadProtocolVersion:          "protocol:unsupported-version",
	"portcullis_reserved_header":       "protocol:reserved-header",
	"portcullis_empty_body":            "protocol:empty-body",
	"portcullis_bad_content_type":      "protocol:bad-content-type",
	"portcullis_bad_content_length":    "protocol:bad-content-length",
	"portcullis_body_too_large":        "protocol:body-too-large",
	"portcullis_unexpected_body":       "protocol:unexpected-body",
	"portcullis_bad_method":            "protocol:bad-method",
	"portcullis_invalid_jsonrpc":       "protocol:invalid-jsonrpc",
	"portcullis_header_mismatch":       "protocol:header-mismatch",
	"portcullis_duplicate_id":          "protocol:duplicate-id",
	"portcullis_encoded_response":      "protocol:encoded-response",
	"portcullis_internal_error":        "inspect:internal-error",
	"portcullis_upstream_credential":   "upstream:credential-unavailable",
	"portcullis_upstream_unauthorized": "upstream:unauthorized",
}

// parseRule names a refused message's parse error. The reasons that matter
// to an operator (ambiguous keys, which parsers disagree on) get their own
// rule; the texts matched are mcp/jsondoc's, pinned by TestParseRule.
func parseRule(perr *mcp.ProtocolError) string {
	switch {
	case strings.Contains(perr.Msg, "only by case or Unicode normalisation"):
		return "protocol:case-variant-key"
	case strings.Contains(perr.Msg, "duplicate object key"):
		return "protocol:duplicate-key"
	case perr.Code == mcp.CodeParseError:
		return "protocol:bad-json"
	case perr.Code == mcp.CodeHeaderMismatch:
		return "protocol:header-mismatch"
	}
	return "protocol:invalid-jsonrpc"
}

// refusalPlane is the plane a refusal of this stream belongs to: the
// result plane once the upstream has answered.
func (st *stream) refusalPlane() audit.Plane {
	if st.status != 0 {
		return audit.PlaneResult
	}
	return audit.PlaneRequest
}

// recordRefusal records a refusal made before (or instead of) deciding a
// message: a final, content-free outcome (no body, bounded ids, the reason
// as rule and the JSON-RPC code as error type), emitted through record like
// every other outcome.
func (st *stream) recordRefusal(plane audit.Plane, method string, id mcp.ID, code int, rule string) {
	if st.srv.eng.Audit == nil && st.srv.eng.Telemetry == nil && len(st.srv.eng.Observers) == 0 {
		return
	}
	o := st.newOutcome(plane, method, id, "")
	o.refused(code, rule)
	_ = st.record(o)
}
