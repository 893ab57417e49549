// Package protocol turns approval decisions into MCP: it builds the
// approval.Binding of a tools/call (including the 2026-07-28 requestState,
// elicitation capabilities and form answer) and the reply per revision
// (JSON-RPC error with the approval id and console URL, or an
// InputRequiredResult). It is separate from package approval because it
// depends on policy, which config (and so approval's configuration) must
// not.
package protocol

import (
	"bytes"
	"strconv"
	"time"

	"github.com/tidwall/sjson"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/mcp"
	"github.com/portcullis-mcp/portcullis/mcp/jsondoc"
	"github.com/portcullis-mcp/portcullis/policy"
)

// Protocol names used in replies.
const (
	// InputKey names the gateway's entry in inputRequests / inputResponses.
	InputKey = "portcullis_approval"
	// MetaCapabilitiesKey is where 2026-07-28 requests declare the client's
	// capabilities (params._meta).
	MetaCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
)

// NewBinding builds the binding for a call the policy decided needs
// approval (tools/call; for resources/read and prompts/get Tool is the uri or
// prompt name). rev is the client's MCP-Protocol-Version header ("" if absent).
func NewBinding(agent policy.Identity, server string, m *mcp.Message, rev string, d policy.Decision) approval.Binding {
	p := m.Params
	b := approval.Binding{Principal: agent.ID, Server: server, Method: m.Method,
		Tool: m.Name(), PolicyVersion: d.PolicyVersion, Rule: d.Rule, Score: d.Score, Revision: rev}
	if a := p.Get("arguments"); a.Exists() {
		b.Arguments = bytes.Clone(a.Raw())
	}
	for _, f := range d.Factors {
		b.Factors = append(b.Factors, approval.Factor{Name: f.Name, Score: f.Value, Weight: f.Weight, Reason: f.Reason})
	}
	if v := p.Get(`_meta.io\.modelcontextprotocol/protocolVersion`).Str(); v != "" {
		b.Revision = v
	}
	if mcp.Revision(b.Revision).Stateless() {
		if st := p.Get("requestState").Str(); approval.IsState(st) {
			b.RequestState = st
		}
		el := p.Get(`_meta.io\.modelcontextprotocol/clientCapabilities.elicitation`)
		if el.IsObject() {
			b.ElicitURL = el.Get("url").Exists()
			// An empty elicitation object means form only.
			b.ElicitForm = el.Get("form").Exists() || el.Len() == 0
		}
		r := p.Get("inputResponses." + InputKey)
		if r.Get("result").Exists() {
			r = r.Get("result")
		}
		b.SelfApproval = r.Get("action").Str() == "accept" && r.Get("content.approve").Kind() == jsondoc.True
	}
	return b
}

// StripRetry removes the gateway's own retry fields from a request before
// it goes upstream (the upstream server never issued them).
func StripRetry(raw []byte) []byte {
	out, err := sjson.DeleteBytes(raw, "params.requestState")
	if err == nil {
		out, err = sjson.DeleteBytes(out, "params.inputResponses."+InputKey)
	}
	if err != nil {
		return nil
	}
	return out
}

// Reply is the answer to a call that may not go through now: a JSON-RPC
// error carrying the approval id and console URL (every revision), or an
// InputRequiredResult with a sealed requestState (2026-07-28 clients that
// can elicit). Session-era -32042 URL elicitation needs the capability
// declared at initialize, which the processor does not track yet.
func Reply(id mcp.ID, b approval.Binding, d policy.Decision, res approval.Result, err error) []byte {
	tool := strconv.Quote(mcp.Truncate(b.Tool, 128))
	data := &mcp.ErrorData{DecisionID: d.ID, PolicyVersion: d.PolicyVersion, Rule: d.Rule, Server: b.Server,
		Tool: mcp.Truncate(b.Tool, 128), Score: d.Score, Extra: map[string]string{}}
	if err != nil {
		return mcp.ErrorResponse(id, mcp.CodeInternalError,
			"tool call "+tool+" requires approval, but the approval service is unavailable ("+mcp.Truncate(err.Error(), 160)+"); it was not executed", data)
	}
	data.Extra["approval_id"] = res.ID
	data.Extra["status"] = string(res.Status)
	if res.URL != "" {
		data.Extra["approval_url"] = res.URL
	}
	if !res.Expires.IsZero() {
		data.Extra["expires"] = res.Expires.UTC().Format(time.RFC3339)
	}
	why := policyReason(d)
	data.Reason = why
	if res.Reason != "" {
		data.Reason = res.Reason
	}
	switch res.Status {
	case approval.StatusRejected:
		return mcp.ErrorResponse(id, mcp.CodePolicyDenied, "tool call "+tool+" was rejected: "+res.Reason+"; it was not executed", data)
	case approval.StatusExpired:
		return mcp.ErrorResponse(id, mcp.CodePolicyDenied, "tool call "+tool+" was not approved in time: "+res.Reason+"; it was not executed", data)
	case approval.StatusInvalid:
		return mcp.ErrorResponse(id, mcp.CodePolicyDenied, "tool call "+tool+" refused: "+res.Reason, data)
	}
	where := "an approver must approve it"
	if res.URL != "" {
		where = "approve it at " + res.URL
	}
	quorum := ""
	if res.Quorum > 1 {
		quorum = " (" + strconv.Itoa(res.Approvals) + " of " + strconv.Itoa(res.Quorum) + " approvals)"
	}
	msg := "tool call " + tool + " requires approval by a person (" + why + "); approval " + res.ID + " is pending" + quorum + ": " + where +
		", then retry the same call with the same arguments (it goes through once). It was not executed."
	if res.Reason != "" {
		msg += " " + res.Reason
	}
	stateless := mcp.Revision(b.Revision).Stateless()
	if stateless && (b.ElicitURL && res.URL != "" || b.ElicitForm && res.SelfAllowed) {
		return inputRequired(id, b, res, msg)
	}
	if stateless {
		data.Extra["request_state"] = res.RequestState
	}
	return mcp.ErrorResponse(id, mcp.CodeApprovalRequired, msg, data)
}

// inputRequired builds a 2026-07-28 InputRequiredResult.
func inputRequired(id mcp.ID, b approval.Binding, res approval.Result, msg string) []byte {
	out := []byte(`{"jsonrpc":"2.0","id":`)
	out = append(out, id...)
	out = append(out, `,"result":{"resultType":"input_required","inputRequests":{"`+InputKey+`":{"method":"elicitation/create","params":`...)
	if b.ElicitURL && res.URL != "" {
		out = append(out, `{"mode":"url","elicitationId":`...)
		out = mcp.AppendJSONString(out, res.ID)
		out = append(out, `,"url":`...)
		out = mcp.AppendJSONString(out, res.URL)
		out = append(out, `,"message":`...)
		out = mcp.AppendJSONString(out, "Open the approval page to review and approve this call: "+b.Tool+" on "+b.Server+".")
		out = append(out, '}')
	} else {
		out = append(out, `{"mode":"form","message":`...)
		out = mcp.AppendJSONString(out, "Approve this call? Tool "+b.Tool+" on server "+b.Server+" with exactly these arguments (risk "+strconv.Itoa(b.Score)+").")
		out = append(out, `,"requestedSchema":{"type":"object","properties":{"approve":{"type":"boolean","title":"Approve this call with these arguments"}},"required":["approve"]}}`...)
	}
	out = append(out, `}},"requestState":`...)
	out = mcp.AppendJSONString(out, res.RequestState)
	out = append(out, `,"_meta":{"io.portcullis/approval":{"id":`...)
	out = mcp.AppendJSONString(out, res.ID)
	out = append(out, `,"status":"pending","url":`...)
	out = mcp.AppendJSONString(out, res.URL)
	out = append(out, `,"message":`...)
	out = mcp.AppendJSONString(out, msg)
	return append(out, "}}}}"...)
}

// policyReason explains why the policy asked for approval, in the same
// words as every other refusal (policy.Decision.Explain).
func policyReason(d policy.Decision) string { return d.Explain() }
