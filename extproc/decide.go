package extproc

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/protocol"
	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// subject is the content-bearing part of one message that is inspected and
// decided as a unit.
type subject struct {
	plane  policy.Plane
	method string // the MCP method the content belongs to (for responses: the request's)
	tool   string // tools/call only: the policy's tool
	name   string // prompt name, resource URI or tool name (audit)
	// path is where content sits in the message, for splicing edits.
	path    string
	content []byte    // the JSON value at path; nil: nothing to inspect
	value   mcp.Value // content's parsed view (tools/call arguments)
	// structural content (initialize, list results) is protocol data the
	// client parses: injections and secrets are acted on, personal data
	// is not rewritten (it would corrupt names and URIs).
	structural bool
}

// requestSubject selects what a client→server message carries for the
// model's counterpart: arguments, a prompt's arguments, a completion's
// input, a resource URI, a reply to a server request, or params.
func requestSubject(m *mcp.Message) subject {
	s := subject{plane: policy.PlaneRequest, method: m.Method}
	switch m.Kind {
	case mcp.KindRequest, mcp.KindNotification:
		s.name = auditName(m)
		if m.Method == "tools/call" {
			s.tool = s.name
			if a := m.Params.Get("arguments"); a.Exists() {
				s.path, s.content, s.value = "params.arguments", rawBytes(a), a
			}
			return s
		}
		if m.Params.Exists() && len(m.Params.Raw()) > 2 {
			s.path, s.content = "params", rawBytes(m.Params)
		}
	case mcp.KindResult:
		s.path, s.content = "result", rawBytes(m.Result)
	case mcp.KindError:
		s.path, s.content = "error", rawBytes(m.Error)
	}
	return s
}

// responseSubject selects what a server→client message carries toward the
// model: a result of the request it answers, an error, a server request's
// or a notification's params.
func responseSubject(m *mcp.Message, call pendingCall) subject {
	s := subject{plane: policy.PlaneResult, method: call.method, name: call.name}
	switch m.Kind {
	case mcp.KindResult:
		if call.method == "tools/call" {
			s.tool = call.name
		}
		s.path, s.content = "result", rawBytes(m.Result)
		switch call.method {
		case "initialize":
			// Only the instructions reach the model; the rest is protocol.
			if in := m.Result.Get("instructions"); in.Exists() {
				s.path, s.content = "result.instructions", rawBytes(in)
			} else {
				s.content = nil
			}
			s.structural = true
		case "tools/list", "prompts/list", "resources/list", "resources/templates/list", "ping":
			s.structural = true
		}
	case mcp.KindError:
		if call.method == "tools/call" {
			s.tool = call.name
		}
		s.path, s.content = "error", rawBytes(m.Error)
	case mcp.KindRequest, mcp.KindNotification:
		s.method, s.name = m.Method, auditName(m)
		if m.Params.Exists() && len(m.Params.Raw()) > 2 {
			s.path, s.content = "params", rawBytes(m.Params)
		}
		// Server requests carry schemas and defaults the client parses;
		// notifications other than log and progress messages are protocol.
		s.structural = m.Kind == mcp.KindRequest || (m.Method != "notifications/message" && m.Method != "notifications/progress")
	}
	return s
}

// auditName is the name a message's outcome carries: tools and prompts by
// name; resource URIs are content (they may carry personal data) and are
// left out.
func auditName(m *mcp.Message) string {
	if m.Method == "resources/read" {
		return ""
	}
	return m.Name()
}

// rawBytes is the JSON text of r inside the message (no copy), or nil.
func rawBytes(r mcp.Value) []byte { return r.Raw() }

// requestOutcome is the request-plane decision for one message.
type requestOutcome struct {
	o       *Outcome
	refusal []byte // JSON-RPC error answered instead (nothing forwarded)
	status  int    // HTTP status of a refusal (0: 200)
	out     []byte // replacement message bytes (nil: unchanged)
	sandbox bool
}

// vaultKey binds the redaction vault to the authenticated principal, the
// route and the MCP session: a surrogate is restored only for the caller
// and server that saw it. Without a session there is no vault.
func (st *stream) vaultKey() string {
	if st.req.sessionID == "" || st.server == nil {
		return ""
	}
	return st.agent.Source + "\x00" + st.agent.ID + "\x00" + st.server.Name + "\x00" + st.req.sessionID
}

// decideRequest inspects and decides one client→server message that passed
// the trust plane. Surrogates are restored first, so detection, policy and
// behaviour decide on the values the upstream would receive.
func (st *stream) decideRequest(m *mcp.Message) requestOutcome {
	eng := &st.srv.eng
	s := requestSubject(m)
	if m.Kind == mcp.KindResult || m.Kind == mcp.KindError {
		s.method = st.srv.serverRequests.take(st.server.Name, st.req.sessionID, m.ID)
	}
	var v requestOutcome
	if len(s.content) == 0 && s.method != "tools/call" {
		return v
	}
	o := st.newOutcome(audit.PlaneRequest, cmpMethod(s.method, m), m.ID, s.name)
	v.o = o
	var cs *callState
	if m.Method == "tools/call" {
		cs = st.startCall(m, s.tool)
	}
	refuse := func(code int, status int, msg string, rule string) requestOutcome {
		v.refusal = mcp.ErrorResponse(m.ID, code, msg, nil)
		v.status, v.out, v.sandbox = status, nil, false
		o.refused(code, rule)
		return v
	}
	content := s.content
	if eng.Detector != nil && len(content) > 0 {
		restored, n, err := eng.Detector.Restore(content, st.vaultKey())
		if errors.Is(err, ErrStateUnavailable) {
			return refuse(mcp.CodeInternalError, 0, "the shared surrogate vault (state.redis) is unavailable, so redacted values cannot be restored; the call was refused (state.on_unavailable.vault: fail_closed)", "state:vault-unavailable")
		}
		if err != nil {
			return refuse(mcp.CodeInternalError, 0, "the gateway could not restore redacted values; the call was refused", "inspect:restore-failed")
		}
		if n > 0 {
			content = restored
			s.value = mcp.Value{} // the parsed view is of the bytes before restoring
		}
	}
	var findings []Finding
	var rep ScanReport // kept for redaction, so the arguments are not scanned twice
	judged := false    // injection findings judged with the request-plane threshold (requestplane.go)
	if eng.Detector != nil && len(content) > 0 {
		var err error
		_, judged = eng.Detector.(RequestScanner)
		if findings, rep, err = scanKept(eng.Detector, content, true); err != nil {
			return refuse(mcp.CodeInvalidParams, 0, "the gateway could not inspect this "+what(s)+" ("+mcp.Truncate(err.Error(), 160)+"); it was refused", "inspect:failed")
		}
		st.countFindings(findings)
	}
	o.Findings = findings
	var bv behavior.Verdict
	var bsig *policy.BehaviorSignal
	if st.beh != nil && m.Method == "tools/call" {
		bv = st.beh.OnCall(st.ctx, behavior.Call{Agent: st.agent.ID, Session: st.req.sessionID, Server: st.server.Name, Tool: s.tool, Args: content})
		bsig = &policy.BehaviorSignal{Score: bv.Score, Reason: bv.Reason}
	}
	d := st.evaluate(policy.PlaneRequest, o.Method, s.tool, content, s.value, findings, bsig)
	if st.pol == nil || defaultDecided(d) {
		d = floor(d, st.builtinRequest(findings, s.content, judged))
	}
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
	o.fromDecision(d)
	if cs != nil {
		cs.decisionID = d.ID
	}
	if eng.Audit != nil && len(content) > 0 {
		o.ArgsDigest = eng.Audit.Digest(content)
	}
	data := func() *mcp.ErrorData {
		return &mcp.ErrorData{DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Rule: d.Rule, Server: st.server.Name, Tool: mcp.Truncate(s.name, 128), Score: d.Score, Reason: reasons(d)}
	}
	switch d.Action {
	case policy.ActionBlock:
		v.refusal = mcp.ErrorResponse(m.ID, mcp.CodePolicyDenied, what(s)+" blocked by policy: "+reasons(d), data())
		o.ErrorType = strconv.Itoa(mcp.CodePolicyDenied)
	case policy.ActionRequireApproval:
		v.refusal, v.out = st.requireApproval(m, what(s), d, data(), o)
	case policy.ActionSandbox:
		if st.server.Sandbox == "" {
			ed := data()
			ed.Reason = ""
			v.refusal = mcp.ErrorResponse(m.ID, mcp.CodePolicyDenied,
				what(s)+" must run in a sandbox, but server "+strconv.Quote(st.server.Name)+" has none configured; blocked", ed)
			o.refused(mcp.CodePolicyDenied, "policy:sandbox-unavailable")
		} else {
			v.sandbox = true
		}
	case policy.ActionRedact:
		if eng.Detector != nil && len(content) > 0 {
			// One-way: request-plane surrogates never enter the session
			// vault, so nothing can turn them back before the upstream.
			red, err := redactWith(eng.Detector, content, rep, "", d.RedactTypes, d.Redact)
			if err != nil {
				return refuse(mcp.CodeInternalError, 0, "the gateway could not redact this "+what(s)+"; it was refused", "inspect:redact-failed")
			}
			content = red
		}
	}
	if eng.Audit != nil && eng.Audit.Content() && len(content) > 0 && d.Action != policy.ActionBlock && v.refusal == nil {
		// Content mode keeps what the upstream receives (after redaction),
		// never values the gateway removed, and nothing of refused calls.
		o.Content = &audit.Content{Arguments: string(content)}
	}
	if v.refusal == nil && len(content) > 0 && !bytes.Equal(content, s.content) {
		base := m.Raw
		if v.out != nil {
			base = v.out
		}
		if v.out = spliceJSON(base, s.path, content); len(v.out) == 0 {
			return refuse(mcp.CodeInternalError, 0, "the gateway could not rewrite this "+what(s)+"; it was refused", "inspect:rewrite-failed")
		}
	}
	return v
}

// requireApproval decides a message the policy holds for a person. It is
// the one place the approvals engine plugs in (Engines gains an Approvals
// field: `Check(ctx, approval.Binding) (approval.Result, error)`): an
// approved call returns refusal == nil (and out, when the body must be
// rewritten, e.g. a retry token stripped; content edits are spliced on top
// of it), anything else returns the reply. It sets the outcome's decision
// and rules, which are final when it returns. Without an approvals engine
// the call is not executed and the client learns the approval id.
func (st *stream) requireApproval(m *mcp.Message, what string, d policy.Decision, data *mcp.ErrorData, o *Outcome) (refusal, out []byte) {
	if a := st.srv.eng.Approvals; a != nil {
		b := protocol.NewBinding(st.agent, st.server.Name, m, st.req.protocolVersion, d)
		res, err := a.Check(st.ctx, b)
		if res.ID != "" {
			o.Rules = append(o.Rules, "approval:"+res.ID)
		}
		if err != nil || res.Status != approval.StatusApproved {
			reply := protocol.Reply(m.ID, b, d, res, err)
			if res.Status != approval.StatusPending {
				o.Decision = audit.DecisionBlock
			}
			if c := gjson.GetBytes(reply, "error.code"); c.Exists() {
				o.ErrorType = c.Raw
			}
			return reply, nil
		}
		// Approved for exactly this binding, once: the call goes through.
		o.Decision = audit.DecisionAllow
		if b.RequestState != "" {
			return nil, protocol.StripRetry(m.Raw)
		}
		return nil, nil
	}
	data.Extra = map[string]string{"approval_id": d.ID, "status": "pending"}
	o.ErrorType = strconv.Itoa(mcp.CodeApprovalRequired)
	return mcp.ErrorResponse(m.ID, mcp.CodeApprovalRequired,
		what+" requires approval by a person ("+reasons(d)+"); it was not executed (approval id "+d.ID+")", data), nil
}

func cmpMethod(method string, m *mcp.Message) string {
	if method != "" {
		return method
	}
	switch m.Kind {
	case mcp.KindResult:
		return "response"
	case mcp.KindError:
		return "error"
	}
	return m.Method
}

// what names the subject in messages: `tool call "x"`, `prompts/get "p"`.
func what(s subject) string {
	if s.method == "tools/call" {
		return "tool call " + strconv.Quote(mcp.Truncate(s.tool, 128))
	}
	if s.method == "" {
		return "message"
	}
	if s.name != "" {
		return s.method + " " + strconv.Quote(mcp.Truncate(s.name, 128))
	}
	return s.method
}

// defaultDecided reports whether the policy decided without any rule of its
// own (default allow, the risk band, or a shadow policy that lets
// everything through), so the built-in floor applies.
func defaultDecided(d policy.Decision) bool {
	return d.Rule == "default-allow" || d.Rule == "shadow" || strings.HasPrefix(d.Rule, "risk:")
}

// floor returns the more severe of the policy's decision and the built-in
// one; the policy's wins ties.
func floor(d, b policy.Decision) policy.Decision {
	if b.Action.Severity() <= d.Action.Severity() {
		return d
	}
	b.ID, b.PolicyVersion, b.Score, b.Factors = d.ID, d.PolicyVersion, d.Score, d.Factors
	if b.Mode == "" {
		b.Mode = d.Mode
	}
	return b
}

// builtinRequest is the protection without a policy rule: injection and
// secrets in what the client sends are refused, personal data typed by the
// model is redacted. Values that are only surrogates the gateway itself
// restored (present in the restored content, absent from the original) are
// the caller's own data going back to the server that produced it.
func (st *stream) builtinRequest(findings []Finding, original []byte, judged bool) policy.Decision {
	if len(findings) == 0 {
		return policy.Decision{Action: policy.ActionAllow} // never raises the floor
	}
	rules := st.srv.eng.RequestRules
	if rules == (ResultRules{}) {
		rules = DefaultRequestRules
	}
	d := policy.Decision{ID: policy.NewID(), Action: policy.ActionAllow, WouldAction: policy.ActionAllow, Mode: policy.ModeEnforce, Enforced: true, Rule: "default-allow"}
	var types []string
	for _, f := range findings {
		action := ruleFor(rules, f)
		if action == "redact" && f.Value != "" && !bytes.Contains(original, []byte(f.Value)) {
			continue // restored by the gateway, not typed by the model
		}
		if f.Detector == "injection" && !requestInjectionRefused(f, judged) {
			// Audited and visible to the policy, but not refused by default.
			continue
		}
		switch action {
		case "block", "notice":
			if d.Action != policy.ActionBlock {
				d.Action, d.WouldAction, d.Rule = policy.ActionBlock, policy.ActionBlock, "builtin:"+f.Detector
				d.Reasons = []string{f.Detector + " detected (" + f.Category + ")"}
			}
		case "redact":
			if d.Action == policy.ActionAllow || d.Action == policy.ActionRedact {
				d.Action, d.WouldAction, d.Rule = policy.ActionRedact, policy.ActionRedact, "builtin:redact"
				d.Reasons = []string{"personal data redacted"}
			}
			types = append(types, redactType(f))
		}
	}
	if d.Action == policy.ActionRedact {
		d.RedactTypes = types
	}
	return d
}

func ruleFor(rules ResultRules, f Finding) string {
	switch f.Detector {
	case "injection", "poison", "invisible":
		return rules.Injection
	case "secret", "secrets":
		return rules.Secrets
	case "pii":
		return rules.PII
	}
	return ""
}

func redactType(f Finding) string {
	switch {
	case f.Detector == "secret" || f.Detector == "secrets":
		return "secret"
	case f.EntityType != "":
		return f.EntityType
	}
	return f.Category
}

// builtinResult is the decision on server→client content without a policy
// rule: the configured ResultRules apply to detector findings.
func (st *stream) builtinResult(findings []Finding, structural bool) policy.Decision {
	if len(findings) == 0 {
		return policy.Decision{Action: policy.ActionAllow} // never raises the floor
	}
	d := policy.Decision{ID: policy.NewID(), Action: policy.ActionAllow, WouldAction: policy.ActionAllow, Mode: policy.ModeEnforce, Enforced: true, Rule: "default-allow"}
	rules := st.srv.eng.ResultRules
	var types []string
	for _, f := range findings {
		action := ruleFor(rules, f)
		if structural && action == "redact" && f.Detector == "pii" {
			continue
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
			types = append(types, redactType(f))
		}
	}
	// Types to redact are kept even when a notice wins: the blocks that
	// stay must not carry personal data (issue 11 #8).
	d.RedactTypes = slices.Compact(slices.Sorted(slices.Values(types)))
	return d
}

// decideResponse inspects and decides one server→client message and returns
// the bytes to forward; nil means the message is withheld (server requests
// and notifications that cannot be answered by an error).
func (st *stream) decideResponse(m *mcp.Message, call pendingCall) []byte {
	eng := &st.srv.eng
	s := responseSubject(m, call)
	if m.Kind == mcp.KindRequest {
		// The client's reply arrives on another POST: remember what it
		// answers so policy on that method applies to it.
		st.srv.serverRequests.put(st.server.Name, st.req.sessionID, m.ID, m.Method)
	}
	if m.Kind == mcp.KindError {
		if bad := resultShapedErrorData(m); bad != "" {
			o := st.newOutcome(audit.PlaneResult, cmpMethod(s.method, m), m.ID, s.name)
			o.refused(mcp.CodeInternalError, "malformed:error-data")
			_ = st.record(o)
			st.endCall(m.ID, strconv.Itoa(mcp.CodeInternalError))
			return mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "upstream error carried result content in error.data ("+bad+"); the gateway withheld it", nil)
		}
	}
	if len(s.content) == 0 {
		if s.method == "tools/call" {
			st.endCall(m.ID, errTypeOf(m))
		}
		return m.Raw
	}
	o := st.newOutcome(audit.PlaneResult, cmpMethod(s.method, m), m.ID, s.name)
	withhold := func(code int, msg, rule string) []byte {
		o.refused(code, rule)
		_ = st.record(o)
		st.endCall(m.ID, strconv.Itoa(code))
		if m.Kind == mcp.KindRequest || m.Kind == mcp.KindNotification {
			return nil
		}
		return mcp.ErrorResponse(m.ID, code, msg, nil)
	}
	var findings []Finding
	var rep ScanReport // kept for redaction, so the result is not scanned twice
	if eng.Detector != nil {
		var err error
		if findings, rep, err = scanKept(eng.Detector, s.content, false); err != nil {
			return withhold(mcp.CodeInternalError, "the gateway could not inspect this "+what(s)+" result ("+mcp.Truncate(err.Error(), 160)+") and withheld it", "inspect:failed")
		}
		st.countFindings(findings)
	}
	o.Findings = findings
	if st.beh != nil && s.method == "tools/call" && m.Kind == mcp.KindResult {
		st.beh.OnResult(st.ctx, behaviorResult(st, call, m.Result, findings))
	}
	d := st.evaluate(policy.PlaneResult, o.Method, s.tool, nil, mcp.Value{}, findings, nil)
	b := st.builtinResult(findings, s.structural)
	if st.pol == nil || defaultDecided(d) {
		d = floor(d, b)
	}
	o.fromDecision(d)
	if cs := st.calls[m.ID]; cs != nil {
		o.Duration = cs.elapsed()
	}
	if eng.Audit != nil {
		o.ResultDigest = eng.Audit.Digest(s.content)
	}
	out := m.Raw
	errType := errTypeOf(m)
	switch d.Action {
	case policy.ActionBlock, policy.ActionRequireApproval, policy.ActionSandbox:
		if d.ResultMode == policy.ResultNotice && s.path == "result" {
			if replaced, ok := st.noticeBlocks(m, findings, d); ok {
				// The blocks that stay are still redacted (issue 11 #8).
				// The notice changed the value: nothing of the scan is reused.
				if red, ok := st.redactAt(replaced, "result", pickTypes(d, b), nil, ""); ok {
					out = red
					break
				}
			}
		}
		if s.path == "result.instructions" {
			// The session stays usable; only the instructions go.
			notice := mcp.AppendJSONString(nil, "[portcullis] instructions removed: "+reasons(d)+" (decision "+d.ID+")")
			if replaced := spliceJSON(m.Raw, s.path, notice); len(replaced) > 0 {
				out = replaced
				break
			}
		}
		if m.Kind == mcp.KindNotification {
			// A log or progress message keeps flowing with its text
			// replaced; anything else is withheld.
			o.ErrorType = ""
			_ = st.record(o)
			return noticeNotification(m, "[portcullis] message removed: "+reasons(d)+" (decision "+d.ID+")")
		}
		if m.Kind == mcp.KindRequest {
			// Nothing can answer a server request with an error on this
			// stream: the flagged texts are replaced by a notice (the
			// server still gets its answer), or it is withheld.
			o.ErrorType = ""
			_ = st.record(o)
			out, _ := noticeLeaves(m.Raw, "params.", findings, "[portcullis] content removed: "+reasons(d)+" (decision "+d.ID+")")
			return out
		}
		out = mcp.ErrorResponse(m.ID, mcp.CodePolicyDenied, what(s)+" result blocked by the gateway: "+reasons(d),
			&mcp.ErrorData{DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Rule: d.Rule, Server: st.server.Name, Tool: mcp.Truncate(s.name, 128), Score: d.Score})
		errType = strconv.Itoa(mcp.CodePolicyDenied)
		o.ErrorType = errType
	case policy.ActionRedact:
		red, ok := st.redactAt(m.Raw, s.path, d.RedactTypes, rep, d.Redact)
		if !ok {
			return withhold(mcp.CodeInternalError, "the gateway could not redact this "+what(s)+" result and withheld it", "inspect:redact-failed")
		}
		out = red
	}
	if eng.Audit != nil && eng.Audit.Content() && o.ErrorType == "" {
		// Content mode keeps what the client receives (notices and
		// surrogates in place), never values the gateway removed.
		if r := gjson.GetBytes(out, s.path); r.Exists() {
			o.Content = &audit.Content{Result: r.Raw}
		}
	}
	if err := st.record(o); err != nil {
		out = mcp.ErrorResponse(m.ID, mcp.CodeInternalError, "the audit log cannot accept records; the gateway withheld this result", nil)
		errType = strconv.Itoa(mcp.CodeInternalError)
		if m.Kind == mcp.KindRequest || m.Kind == mcp.KindNotification {
			out = nil
		}
	}
	if s.method == "tools/call" {
		st.endCall(m.ID, errType)
	}
	return out
}

// noticeLeaves replaces every string leaf a blocking finding points to
// (base+finding path) by notice, in one splice. It fails (nil, false) when a
// finding has no path to a string, so the caller withholds the message.
func noticeLeaves(msg []byte, base string, findings []Finding, notice string) ([]byte, bool) {
	repl := mcp.AppendJSONString(nil, notice)
	out := editJSON(msg, func(d *jsondoc.Doc) ([]jsondoc.Edit, bool) {
		var edits []jsondoc.Edit
		seen := map[int]bool{}
		for _, f := range findings {
			if f.Detector == "pii" {
				continue
			}
			n := -1
			if f.Path != "" {
				n = d.LookupPath(base + f.Path)
			}
			if n < 0 || d.Nodes[n].Kind != jsondoc.String {
				return nil, false
			}
			if !seen[n] {
				seen[n] = true
				edits = append(edits, d.Replace(n, repl))
			}
		}
		return edits, len(edits) > 0
	})
	if len(out) == 0 {
		return nil, false
	}
	return out, true
}

// noticeNotification replaces the text of a log (params.data) or progress
// (params.message) notification by notice, or returns nil (withhold).
func noticeNotification(m *mcp.Message, notice string) []byte {
	for _, path := range []string{"params.data", "params.message"} {
		if m.Params.Get(path[len("params."):]).Exists() {
			if out := spliceJSON(m.Raw, path, mcp.AppendJSONString(nil, notice)); len(out) > 0 {
				return out
			}
			return nil
		}
	}
	return nil
}

// pickTypes returns the redaction types of a notice decision: the policy's
// when it named any, else the built-in rules'.
func pickTypes(d, b policy.Decision) []string {
	if len(d.RedactTypes) > 0 {
		return d.RedactTypes
	}
	return b.RedactTypes
}

// redactAt redacts the value at path in msg (reversible surrogates in the
// caller's vault) and returns the new message. rep is the scan report of
// that value (nil: none; the detector checks it belongs to the value).
// style is the policy's redact.style ("" = configured default).
func (st *stream) redactAt(msg []byte, path string, types []string, rep ScanReport, sty string) ([]byte, bool) {
	det := st.srv.eng.Detector
	if det == nil {
		return msg, true
	}
	var failed bool
	out := editJSON(msg, func(d *jsondoc.Doc) ([]jsondoc.Edit, bool) {
		n := d.LookupPath(path)
		if n < 0 {
			return nil, true // nothing there to redact
		}
		raw := d.Raw(n)
		red, err := redactWith(det, raw, rep, st.vaultKey(), types, sty)
		if err != nil {
			failed = true
			return nil, false
		}
		if bytes.Equal(red, raw) {
			return nil, true
		}
		return []jsondoc.Edit{d.Replace(n, red)}, true
	})
	if failed || len(out) == 0 {
		return nil, false
	}
	return out, true
}

// resultShapedErrorData reports result content smuggled inside error.data,
// which clients may show the model as if it were a result (issue 11 #6).
func resultShapedErrorData(m *mcp.Message) string {
	data := m.Error.Get("data")
	if !data.IsObject() {
		return ""
	}
	for _, k := range []string{"content", "structuredContent", "contents", "messages", "tools"} {
		if data.Get(k).Exists() {
			return "data." + k
		}
	}
	return ""
}

func errTypeOf(m *mcp.Message) string {
	switch {
	case m.Kind == mcp.KindError:
		return strconv.Itoa(int(m.Error.Get("code").Int()))
	case m.Kind == mcp.KindResult && m.Result.Get("isError").Bool():
		return "tool_error"
	}
	return ""
}
