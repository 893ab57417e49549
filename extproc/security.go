package extproc

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
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

func (cs *callState) elapsed() time.Duration { return time.Since(cs.start) }

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

// reasons explains a decision for the caller (policy.Decision.Explain).
func reasons(d policy.Decision) string { return d.Explain() }

func firstReason(d policy.Decision) string {
	if len(d.Reasons) > 0 {
		return d.Reasons[0]
	}
	return "rule " + d.Rule
}

// evaluate asks the policy; without one it returns the default allow that
// the built-in rules then raise (see floor).
//
// parsed, when it exists, is args' view in the message's parsed document:
// the policy then reads the arguments from it instead of parsing them again.
func (st *stream) evaluate(plane policy.Plane, method, tool string, args []byte, parsed mcp.Value, findings []Finding, bsig *policy.BehaviorSignal) policy.Decision {
	if st.pol == nil {
		return policy.Decision{ID: policy.NewID(), Action: policy.ActionAllow, WouldAction: policy.ActionAllow, Mode: policy.ModeEnforce, Enforced: true, Rule: "default-allow"}
	}
	in := &policy.Input{
		Plane: plane, Method: method, Server: st.server.Name, Tool: tool, Args: args,
		Agent: st.agent, Session: st.req.sessionID, Findings: toPolicyFindings(findings),
		Annotations: st.srv.annot.get(st.server.Name, tool),
		Behavior:    bsig,
	}
	if st.pol.Mode() == policy.ModeShadow {
		// Shadow: evaluate off the request path, record what would have
		// happened, let the call through now.
		p, srvName := st.pol, st.server.Name
		argsCopy := append([]byte(nil), args...)
		in.Args = argsCopy
		o := st.newOutcome(auditPlane(plane), method, "", tool)
		o.Server, o.metricServer = srvName, srvName
		runShadow(st.ctx, st.srv.logger, func() {
			d := p.Evaluate(in)
			o.Decision, o.WouldBe = audit.DecisionDryRun, auditDecision(d.WouldAction)
			o.Rules, o.Risk, o.PolicyVersion, o.DecisionID = []string{d.Rule}, d.Score, d.PolicyVersion, d.ID
			_ = st.srv.appendAudit(o.auditRecord())
		})
		return policy.Decision{ID: policy.NewID(), Action: policy.ActionAllow, WouldAction: policy.ActionAllow, Mode: policy.ModeShadow, Rule: "shadow", PolicyVersion: p.Version()}
	}
	if parsed.Exists() {
		in.ParsedArgs = func() (any, error) { return parsed.Decode(argNumber) }
	}
	return st.pol.Evaluate(in)
}

// argNumber is policy.ArgNumber for mcp.Value.Decode.
func argNumber(lit []byte) (any, error) {
	f, err := policy.ArgNumber(lit)
	if err != nil {
		return nil, err
	}
	return f, nil
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
	notice := []byte(`{"type":"text","text":` + string(mcp.AppendJSONString(nil,
		"[portcullis] content removed: "+firstReason(d)+" (decision "+d.ID+")")) + `}`)
	out := editJSON(m.Raw, func(doc *jsondoc.Doc) ([]jsondoc.Edit, bool) {
		edits := make([]jsondoc.Edit, 0, len(bad)+1)
		for i := range bad {
			n := doc.LookupPath("result.content." + strconv.Itoa(i))
			if n < 0 {
				return nil, false
			}
			edits = append(edits, doc.Replace(n, notice))
		}
		if sc := doc.LookupPath("result.structuredContent"); sc >= 0 {
			// structuredContent mirrors the text; drop it rather than leak it.
			e, ok := doc.Delete(sc)
			if !ok {
				return nil, false
			}
			edits = append(edits, e)
		}
		return edits, true
	})
	return out, len(out) > 0
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

// spliceJSON replaces the value at path (dotted) in doc with raw; on
// failure (no such value, invalid result) it returns an empty slice, which
// callers treat as "refuse", so a half-edited message is never forwarded.
func spliceJSON(doc []byte, path string, raw []byte) []byte {
	return editJSON(doc, func(d *jsondoc.Doc) ([]jsondoc.Edit, bool) {
		n := d.LookupPath(path)
		if n < 0 {
			return nil, false
		}
		return []jsondoc.Edit{d.Replace(n, raw)}, true
	})
}

// editJSON parses doc once, lets plan choose the edits and applies them in
// one pass. The output is checked to parse, so an edit can never forward
// malformed JSON; any failure returns an empty slice (refuse).
func editJSON(doc []byte, plan func(d *jsondoc.Doc) ([]jsondoc.Edit, bool)) []byte {
	d, err := jsondoc.Parse(doc, jsondoc.Options{})
	if err != nil {
		return []byte{}
	}
	edits, ok := plan(d)
	if !ok {
		return []byte{}
	}
	if len(edits) == 0 {
		return doc
	}
	out, err := jsondoc.Splice(doc, edits)
	if err != nil {
		return []byte{}
	}
	if _, err := jsondoc.Parse(out, jsondoc.Options{}); err != nil {
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
func (st *stream) rememberAnnotations(tool string, a mcp.Value) {
	if !a.IsObject() {
		return
	}
	b := func(k string) *bool {
		v := a.Get(k)
		if k := v.Kind(); k != jsondoc.True && k != jsondoc.False {
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

// behaviorResult summarises a tool result for the behaviour engine: sizes,
// sensitive categories and the matched values (hashed by the engine).
// Values the call's own arguments carried (a recipient echoed back) are
// not new data the agent learned and do not make the result sensitive.
func behaviorResult(st *stream, call pendingCall, res mcp.Value, findings []Finding) behavior.Result {
	r := behavior.Result{Agent: st.agent.ID, Session: st.req.sessionID, Server: st.server.Name, Tool: call.name,
		Bytes: len(res.Raw()), IsError: res.Get("isError").Bool()}
	if c := res.Get("content"); c.IsArray() {
		r.Records = c.Len()
	}
	if sc := res.Get("structuredContent"); sc.IsObject() {
		sc.ForEach(func(_ string, v mcp.Value) bool {
			if v.IsArray() {
				r.Records = max(r.Records, v.Len())
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
		if f.Value != "" && bytes.Contains(call.args, []byte(f.Value)) {
			continue // an echo of the caller's own argument
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
