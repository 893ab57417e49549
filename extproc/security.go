package extproc

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/protocol"
	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// callState follows one tools/call from request to result.
type callState struct {
	span       *telemetry.Span
	start      time.Time
	traceID    string
	decisionID string
}

// verdict is what the request plane decided for one message.
type verdict struct {
	refusal []byte // JSON-RPC error to answer with (nothing forwarded)
	status  int    // HTTP status for a refusal (default 200)
	out     []byte // replacement message bytes (nil = unchanged)
	sandbox bool
}

// resolveIdentity establishes the agent once per stream.
func (st *stream) resolveIdentity(headers map[string]string) error {
	st.agent = anonymous
	if st.pol != nil {
		st.agent = st.pol.AnonymousIdentity()
	}
	r := st.srv.eng.Identity
	if r == nil {
		return nil
	}
	id, err := r.Resolve(headers, st.attrs)
	if err != nil {
		return err
	}
	if id.ID != "" {
		st.agent = id
	}
	return nil
}

var anonymous = policy.Identity{ID: "anonymous", Trust: "untrusted", Source: policy.SourceAnonymous}

// decideRequest runs detection and policy for one tools/call that passed
// the trust plane.
func (st *stream) decideRequest(m *mcp.Message) verdict {
	eng := &st.srv.eng
	tool := m.Params.Get("name").Str
	args := m.Params.Get("arguments")
	argsRaw := []byte(args.Raw)
	cs := st.startCall(m, tool)

	var findings []Finding
	if eng.Detector != nil && len(argsRaw) > 0 {
		var err error
		if findings, err = eng.Detector.Scan(argsRaw); err != nil {
			st.endCall(m.ID, strconv.Itoa(mcp.CodeInvalidParams))
			return verdict{refusal: mcp.ErrorResponse(m.ID, mcp.CodeInvalidParams,
				"the gateway could not inspect the tool arguments ("+mcp.Truncate(err.Error(), 160)+"); the call was refused", nil)}
		}
		st.countFindings(findings)
	}
	var bv behavior.Verdict
	st.bsig = nil
	if st.beh != nil {
		bv = st.beh.OnCall(st.ctx, behavior.Call{Agent: st.agent.ID, Session: st.req.sessionID, Server: st.server.Name, Tool: tool, Args: argsRaw})
		st.bsig = &policy.BehaviorSignal{Score: bv.Score, Reason: bv.Reason}
	}
	d := st.evaluate(policy.PlaneRequest, m.Method, tool, argsRaw, findings)
	st.bsig = nil
	if bv.Action == "block" || bv.Action == "require_approval" {
		// Behaviour rules (toxic flows, rate limits, rug-pulled tools)
		// force the decision; they are enforced like any deny rule.
		a := policy.ActionBlock
		if bv.Action == "require_approval" {
			a = policy.ActionRequireApproval
		}
		if a.Severity() > d.Action.Severity() {
			d.Action, d.WouldAction, d.Rule, d.Enforced, d.Mode = a, a, bv.Rule, true, policy.ModeEnforce
			d.Reasons = append([]string{bv.Reason}, d.Reasons...)
		}
	}
	cs.decisionID = d.ID
	rec := st.record(audit.PlaneRequest, m, tool, d, findings)
	if st.srv.eng.Audit != nil && len(argsRaw) > 0 {
		rec.ArgsDigest = st.srv.eng.Audit.Digest(argsRaw)
		if st.srv.eng.Audit.Content() {
			rec.Content = &audit.Content{Arguments: args.Raw}
		}
	}

	var v verdict
	switch d.Action {
	case policy.ActionBlock:
		v.refusal = mcp.ErrorResponse(m.ID, mcp.CodePolicyDenied,
			"tool call "+strconv.Quote(mcp.Truncate(tool, 128))+" blocked by policy: "+reasons(d),
			&mcp.ErrorData{DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Rule: d.Rule, Server: st.server.Name, Tool: mcp.Truncate(tool, 128), Score: d.Score, Reason: reasons(d)})
	case policy.ActionRequireApproval:
		if eng.Approvals != nil {
			b := protocol.NewBinding(st.agent, st.server.Name, m, st.req.protocolVersion, d)
			res, err := eng.Approvals.Check(st.ctx, b)
			if res.ID != "" {
				rec.Rules = append(rec.Rules, "approval:"+res.ID)
			}
			if err != nil || res.Status != approval.StatusApproved {
				if v.refusal = protocol.Reply(m.ID, b, d, res, err); res.Status != approval.StatusPending {
					rec.Decision = audit.DecisionBlock
				}
				break
			}
			rec.Decision = audit.DecisionAllow
			if b.RequestState != "" {
				v.out = protocol.StripRetry(m.Raw)
			}
			break
		}
		v.refusal = mcp.ErrorResponse(m.ID, mcp.CodeApprovalRequired,
			"tool call "+strconv.Quote(mcp.Truncate(tool, 128))+" requires approval by a person ("+reasons(d)+"); it was not executed (approval id "+d.ID+")",
			&mcp.ErrorData{DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Rule: d.Rule, Server: st.server.Name, Tool: mcp.Truncate(tool, 128), Score: d.Score, Reason: reasons(d),
				Extra: map[string]string{"approval_id": d.ID, "status": "pending"}})
	case policy.ActionSandbox:
		if st.server.Sandbox == "" {
			v.refusal = mcp.ErrorResponse(m.ID, mcp.CodePolicyDenied,
				"tool call "+strconv.Quote(mcp.Truncate(tool, 128))+" must run in a sandbox, but server "+strconv.Quote(st.server.Name)+" has none configured; blocked",
				&mcp.ErrorData{DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Rule: d.Rule, Server: st.server.Name, Tool: mcp.Truncate(tool, 128), Score: d.Score})
			rec.Decision = audit.DecisionBlock
		} else {
			v.sandbox = true
		}
	case policy.ActionRedact:
		if eng.Detector != nil && len(argsRaw) > 0 {
			red, err := eng.Detector.Redact(argsRaw, st.req.sessionID, d.RedactTypes)
			if err != nil {
				v.refusal = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the gateway could not redact the arguments; the call was refused", nil)
				rec.Decision = audit.DecisionBlock
				break
			}
			argsRaw = red
			v.out = spliceJSON(m.Raw, "params.arguments", red)
		}
	}
	if v.refusal == nil && eng.Detector != nil && len(argsRaw) > 0 {
		// Surrogates the model saw in earlier results go back to their
		// originals now, after the decision, so tools receive real values.
		restored, n, err := eng.Detector.Restore(argsRaw, st.req.sessionID)
		if err != nil {
			v.refusal = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the gateway could not restore redacted values; the call was refused", nil)
			rec.Decision = audit.DecisionBlock
		} else if n > 0 {
			base := m.Raw
			if v.out != nil {
				base = v.out
			}
			v.out = spliceJSON(base, "params.arguments", restored)
		}
	}
	if v.refusal == nil && v.out != nil && len(v.out) == 0 {
		v.refusal = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the gateway could not rewrite the arguments; the call was refused", nil)
		rec.Decision = audit.DecisionBlock
	}
	if st.batchAudit != nil && v.refusal == nil {
		// In a batch the outcome is known only when every call is decided.
		*st.batchAudit = append(*st.batchAudit, rec)
	} else if err := st.appendAudit(rec); err != nil && v.refusal == nil {
		v.refusal = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the audit log cannot accept records; the gateway refuses calls it cannot record", nil)
		v.status = 503
	}
	if v.refusal != nil {
		st.endCall(m.ID, strconv.Itoa(int(gjson.GetBytes(v.refusal, "error.code").Int())))
	}
	return v
}

// reasons explains a decision for the caller: the policy's reasons, most
// important first (at most three), or the rule.
func reasons(d policy.Decision) string {
	out := d.Reasons[:min(2, len(d.Reasons))]
	if strings.HasPrefix(d.Rule, "risk:") {
		// A score band decided: name the factors that drove the score.
		fs := slices.Clone(d.Factors)
		slices.SortFunc(fs, func(a, b policy.Factor) int { return b.Value*b.Weight - a.Value*a.Weight })
		for _, f := range fs[:min(2, len(fs))] {
			if f.Value > 0 && f.Weight > 0 && f.Reason != "" {
				out = append(out, f.Name+" "+strconv.Itoa(f.Value)+": "+f.Reason)
			}
		}
	}
	if len(out) == 0 {
		return "rule " + d.Rule
	}
	return mcp.Truncate(strings.Join(out, "; "), 400)
}

func firstReason(d policy.Decision) string {
	if len(d.Reasons) > 0 {
		return d.Reasons[0]
	}
	return "rule " + d.Rule
}

// evaluate asks the policy, or applies the built-in rules when none is set.
func (st *stream) evaluate(plane policy.Plane, method, tool string, args []byte, findings []Finding) policy.Decision {
	if st.pol == nil {
		return st.builtin(plane, findings)
	}
	in := &policy.Input{
		Plane: plane, Method: method, Server: st.server.Name, Tool: tool, Args: args,
		Agent: st.agent, Session: st.req.sessionID, Findings: toPolicyFindings(findings),
		Annotations: st.srv.annot.get(st.server.Name, tool),
		Behavior:    st.bsig,
	}
	if st.pol.Mode() == policy.ModeShadow {
		// Shadow: evaluate off the request path, record what would have
		// happened, let the call through now.
		p, srvName := st.pol, st.server.Name
		argsCopy := append([]byte(nil), args...)
		in.Args = argsCopy
		runShadow(st.ctx, st.srv.logger, func() {
			d := p.Evaluate(in)
			r := audit.NewRecord(auditPlane(plane), audit.DecisionDryRun)
			r.WouldBe = auditDecision(d.WouldAction)
			r.Server, r.Tool, r.Method, r.Agent, r.Session = srvName, tool, method, in.Agent.ID, in.Session
			r.Rules, r.Risk, r.PolicyVersion = []string{d.Rule}, d.Score, d.PolicyVersion
			_ = st.srv.appendAudit(r)
		})
		return policy.Decision{ID: policy.NewID(), Action: policy.ActionAllow, WouldAction: policy.ActionAllow, Mode: policy.ModeShadow, Rule: "shadow", PolicyVersion: p.Version()}
	}
	return st.pol.Evaluate(in)
}

// builtin is the decision without a policy file: the trust plane already
// ran; on results, the configured ResultRules apply to detector findings.
func (st *stream) builtin(plane policy.Plane, findings []Finding) policy.Decision {
	d := policy.Decision{ID: policy.NewID(), Action: policy.ActionAllow, WouldAction: policy.ActionAllow, Mode: policy.ModeEnforce, Enforced: true, Rule: "trust-plane"}
	if plane != policy.PlaneResult {
		return d
	}
	rules := st.srv.eng.ResultRules
	var redactTypes []string
	for _, f := range findings {
		var action string
		switch f.Detector {
		case "injection", "poison", "invisible":
			action = rules.Injection
		case "secret", "secrets":
			action = rules.Secrets
		case "pii":
			action = rules.PII
		}
		switch action {
		case "block":
			d.Action, d.WouldAction, d.Rule, d.ResultMode = policy.ActionBlock, policy.ActionBlock, "builtin:"+f.Detector, policy.ResultBlock
			d.Reasons = append(d.Reasons, f.Detector+" detected ("+f.Category+")")
		case "notice":
			if d.Action != policy.ActionBlock || d.ResultMode == policy.ResultNotice {
				d.Action, d.WouldAction, d.Rule, d.ResultMode = policy.ActionBlock, policy.ActionBlock, "builtin:"+f.Detector, policy.ResultNotice
				d.Reasons = append(d.Reasons, f.Detector+" detected ("+f.Category+")")
			}
		case "redact":
			if d.Action == policy.ActionAllow {
				d.Action, d.WouldAction, d.Rule = policy.ActionRedact, policy.ActionRedact, "builtin:redact"
			}
			switch {
			case f.Detector == "secret" || f.Detector == "secrets":
				redactTypes = append(redactTypes, "secret")
			case f.EntityType != "":
				redactTypes = append(redactTypes, f.EntityType)
			default:
				redactTypes = append(redactTypes, f.Category)
			}
		}
	}
	if d.Action == policy.ActionRedact {
		d.RedactTypes = redactTypes
	}
	return d
}

// decideResult applies detection and policy to a tools/call result and
// returns the message bytes to forward.
func (st *stream) decideResult(m *mcp.Message, call pendingCall) []byte {
	eng := &st.srv.eng
	res := m.Result
	resRaw := []byte(res.Raw)
	var findings []Finding
	if eng.Detector != nil {
		var err error
		if findings, err = eng.Detector.Scan(resRaw); err != nil {
			st.endCall(m.ID, strconv.Itoa(mcp.CodeInternalError))
			return mcp.ErrorResponse(m.ID, mcp.CodeInternalError,
				"the gateway could not inspect this tool result ("+mcp.Truncate(err.Error(), 160)+") and withheld it", nil)
		}
		st.countFindings(findings)
	}
	if st.beh != nil {
		st.beh.OnResult(st.ctx, behaviorResult(st, call.name, res, findings))
	}
	d := st.evaluate(policy.PlaneResult, "tools/call", call.name, nil, findings)
	rec := st.record(audit.PlaneResult, m, call.name, d, findings)
	if eng.Audit != nil {
		rec.ResultDigest = eng.Audit.Digest(resRaw)
		if eng.Audit.Content() {
			rec.Content = &audit.Content{Result: res.Raw}
		}
	}
	out := m.Raw
	errType := ""
	if res.Get("isError").Bool() {
		errType = telemetry.ErrorTypeTool
	}
	switch d.Action {
	case policy.ActionBlock, policy.ActionRequireApproval, policy.ActionSandbox:
		if d.ResultMode == policy.ResultNotice {
			if replaced, ok := st.noticeBlocks(m, findings, d); ok {
				out = replaced
				break
			}
		}
		out = mcp.ErrorResponse(m.ID, mcp.CodePolicyDenied, "tool result blocked by the gateway: "+firstReason(d),
			&mcp.ErrorData{DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Rule: d.Rule, Server: st.server.Name, Tool: mcp.Truncate(call.name, 128), Score: d.Score})
		errType = strconv.Itoa(mcp.CodePolicyDenied)
	case policy.ActionRedact:
		if eng.Detector != nil {
			red, err := eng.Detector.Redact(resRaw, st.req.sessionID, d.RedactTypes)
			if err != nil {
				out = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the gateway could not redact this result and withheld it", nil)
				rec.Decision = audit.DecisionBlock
				errType = strconv.Itoa(mcp.CodeInternalError)
			} else if out = spliceJSON(m.Raw, "result", red); len(out) == 0 {
				out = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the gateway could not redact this result and withheld it", nil)
				rec.Decision = audit.DecisionBlock
				errType = strconv.Itoa(mcp.CodeInternalError)
			}
		}
	}
	if err := st.appendAudit(rec); err != nil {
		out = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the audit log cannot accept records; the gateway withheld this result", nil)
		errType = strconv.Itoa(mcp.CodeInternalError)
	}
	st.endCall(m.ID, errType)
	return out
}

// noticeBlocks replaces each content block with a finding by a short notice,
// keeping the rest of the result. It fails (ok=false) when a finding is
// outside content blocks, so the caller blocks the whole result instead.
func (st *stream) noticeBlocks(m *mcp.Message, findings []Finding, d policy.Decision) ([]byte, bool) {
	bad := map[int]bool{}
	for _, f := range findings {
		if f.Detector != "injection" && f.Detector != "poison" && f.Detector != "invisible" && f.Detector != "exfil" {
			continue
		}
		rest, ok := strings.CutPrefix(f.Path, "content.")
		if !ok {
			return nil, false
		}
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		n, err := strconv.Atoi(rest)
		if err != nil {
			return nil, false
		}
		bad[n] = true
	}
	if len(bad) == 0 {
		return nil, false
	}
	out := append([]byte(nil), m.Raw...)
	notice := `{"type":"text","text":` + string(mcp.AppendJSONString(nil,
		"[portcullis] content removed: "+firstReason(d)+" (decision "+d.ID+")")) + `}`
	for i := range bad {
		var err error
		out, err = sjson.SetRawBytes(out, "result.content."+strconv.Itoa(i), []byte(notice))
		if err != nil {
			return nil, false
		}
	}
	if sc := gjson.GetBytes(out, "result.structuredContent"); sc.Exists() {
		// structuredContent mirrors the text; drop it rather than leak it.
		var err error
		if out, err = sjson.DeleteBytes(out, "result.structuredContent"); err != nil {
			return nil, false
		}
	}
	return out, true
}

func (st *stream) startCall(m *mcp.Message, tool string) *callState {
	cs := &callState{start: time.Now()}
	if t := st.srv.eng.Telemetry; t != nil {
		_, cs.span = t.StartCall(st.ctx, headerCarrier{st.req.traceparent, st.req.tracestate}, telemetry.Call{
			Method: m.Method, Target: tool, Session: st.req.sessionID, ProtocolVersion: string(st.rev),
			RequestID: string(m.ID), Server: st.server.Name,
		})
		cs.traceID = cs.span.TraceID()
	}
	if st.calls == nil {
		st.calls = map[mcp.ID]*callState{}
	}
	st.calls[m.ID] = cs
	return cs
}

func (st *stream) endCall(id mcp.ID, errType string) {
	cs, ok := st.calls[id]
	if !ok {
		return
	}
	delete(st.calls, id)
	cs.span.End(errType)
}

// finish ends spans of calls that never got a result (stream reset,
// upstream error status).
func (st *stream) finish() {
	for id := range st.calls {
		st.endCall(id, "no_result")
	}
}

func (st *stream) countFindings(fs []Finding) {
	t := st.srv.eng.Telemetry
	if t == nil {
		return
	}
	for _, f := range fs {
		typ := f.EntityType
		if typ == "" {
			typ = f.Detector
		}
		t.DetectorHits(typ, max(1, f.Count))
	}
}

// record builds the audit record of a decision (no content unless enabled).
func (st *stream) record(plane audit.Plane, m *mcp.Message, tool string, d policy.Decision, findings []Finding) *audit.Record {
	ad := auditDecision(d.Action)
	if !d.Enforced && d.WouldAction != d.Action {
		ad = audit.DecisionDryRun
	}
	r := audit.NewRecord(plane, ad)
	r.WouldBe = auditDecision(d.WouldAction)
	r.Agent, r.Session, r.Server, r.Tool, r.Method, r.RPCID = st.agent.ID, st.req.sessionID, st.server.Name, tool, m.Method, strings.Trim(string(m.ID), `"`)
	if m.Method == "" {
		r.Method = "tools/call"
	}
	r.Rules = append(r.Rules, d.Rule)
	r.Risk = d.Score
	for _, f := range d.Factors {
		r.Factors = append(r.Factors, audit.Factor{Name: f.Name, Score: f.Value})
	}
	counts := map[string]int{}
	for _, f := range findings {
		typ := f.EntityType
		if typ == "" {
			typ = f.Detector + ":" + f.Category
		}
		counts[typ] += max(1, f.Count)
	}
	for k, n := range counts {
		r.Findings = append(r.Findings, audit.Finding{Type: k, Count: n})
	}
	r.PolicyVersion = d.PolicyVersion
	r.DecisionID = d.ID
	if cs := st.calls[m.ID]; cs != nil {
		r.TraceID = cs.traceID
		if plane == audit.PlaneResult {
			r.Duration = time.Since(cs.start)
		}
		cs.span.SetDecision(ad, d.Score, r.Rules)
	}
	if t := st.srv.eng.Telemetry; t != nil {
		t.Decision(st.server.Name, plane, ad)
	}
	return r
}

func (st *stream) appendAudit(r *audit.Record) error { return st.srv.appendAudit(r) }

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

func toPolicyFindings(fs []Finding) []policy.Finding {
	if len(fs) == 0 {
		return nil
	}
	out := make([]policy.Finding, len(fs))
	for i, f := range fs {
		out[i] = policy.Finding{Detector: f.Detector, Category: f.Category, EntityType: f.EntityType, Confidence: f.Confidence, Count: f.Count}
	}
	return out
}

// spliceJSON sets path in doc to raw; on failure it returns an empty slice,
// which callers treat as "refuse", so a half-edited message is never forwarded.
func spliceJSON(doc []byte, path string, raw []byte) []byte {
	out, err := sjson.SetRawBytes(append([]byte(nil), doc...), path, raw)
	if err != nil {
		return []byte{}
	}
	return out
}

// headerCarrier exposes the W3C trace headers to the propagator.
type headerCarrier struct{ traceparent, tracestate string }

func (h headerCarrier) Get(k string) string {
	switch k {
	case "traceparent":
		return h.traceparent
	case "tracestate":
		return h.tracestate
	}
	return ""
}
func (h headerCarrier) Set(string, string) {}
func (h headerCarrier) Keys() []string     { return []string{"traceparent", "tracestate"} }

// rememberAnnotations keeps a tool's (untrusted) annotations for request-plane
// risk scoring; the policy never lets them lower risk below its floor.
func (st *stream) rememberAnnotations(tool string, a gjson.Result) {
	if !a.IsObject() {
		return
	}
	b := func(k string) *bool {
		v := a.Get(k)
		if v.Type != gjson.True && v.Type != gjson.False {
			return nil
		}
		x := v.Bool()
		return &x
	}
	st.srv.annot.put(st.server.Name, tool, &policy.ToolAnnotations{
		ReadOnlyHint: b("readOnlyHint"), DestructiveHint: b("destructiveHint"),
		IdempotentHint: b("idempotentHint"), OpenWorldHint: b("openWorldHint"),
	})
}

// auditTrustRefusal records a trust-plane refusal (disallowed tool).
func (st *stream) auditTrustRefusal(m *mcp.Message, refusal []byte) {
	tool := m.Params.Get("name").Str
	_, rule := st.server.ToolDecision(tool)
	st.auditDecision(audit.PlaneRequest, audit.DecisionBlock, m.Method, m.ID, tool, rule, "", gjson.GetBytes(refusal, "error.data.decision_id").Str)
}

// auditDecision records a decision the policy engine did not produce (trust
// plane, tool poisoning, tool pinning). finding, when set, is the finding type.
func (st *stream) auditDecision(plane audit.Plane, d audit.Decision, method string, id mcp.ID, tool, rule, finding, decisionID string) {
	if st.srv.eng.Audit == nil && st.srv.eng.Telemetry == nil {
		return
	}
	r := audit.NewRecord(plane, d)
	r.WouldBe = d
	server, label := mcp.Truncate(st.serverName, 64), st.serverName
	if st.server == nil {
		label = "unknown" // keep metric labels to configured names
	}
	r.Agent, r.Session, r.Server, r.Tool, r.Method, r.RPCID = st.agent.ID, st.req.sessionID, server, mcp.Truncate(tool, 128), method, strings.Trim(string(id), `"`)
	r.Rules = append(r.Rules, rule)
	r.DecisionID = cmp.Or(decisionID, policy.NewID())
	if finding != "" {
		r.Findings = append(r.Findings, audit.Finding{Type: finding, Count: 1})
	}
	if plane == audit.PlaneRequest && d == audit.DecisionBlock {
		r.ErrorType = strconv.Itoa(mcp.CodePolicyDenied)
	}
	if st.pol != nil {
		r.PolicyVersion = st.pol.Version()
	}
	if t := st.srv.eng.Telemetry; t != nil {
		t.Decision(label, plane, d)
	}
	_ = st.appendAudit(r)
}

// behaviorResult summarises a tool result for the behaviour engine: sizes,
// sensitive categories and the matched values (hashed by the engine).
func behaviorResult(st *stream, tool string, res gjson.Result, findings []Finding) behavior.Result {
	r := behavior.Result{Agent: st.agent.ID, Session: st.req.sessionID, Server: st.server.Name, Tool: tool,
		Bytes: len(res.Raw), IsError: res.Get("isError").Bool()}
	r.Records = int(res.Get("content.#").Int())
	if sc := res.Get("structuredContent"); sc.IsObject() {
		sc.ForEach(func(_, v gjson.Result) bool {
			if v.IsArray() {
				r.Records = max(r.Records, int(v.Get("#").Int()))
			}
			return true
		})
	}
	seen := map[string]bool{}
	for _, f := range findings {
		cat := f.Category
		if f.Detector == "secret" {
			cat = "secret"
		}
		if f.Detector != "pii" && f.Detector != "secret" {
			continue
		}
		if !seen[cat] {
			seen[cat] = true
			r.Sensitive = append(r.Sensitive, cat)
		}
		if f.Value != "" && len(r.Values) < 64 {
			r.Values = append(r.Values, []byte(f.Value))
		}
	}
	return r
}
