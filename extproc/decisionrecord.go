package extproc

import (
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
)

// DecisionRecord is the outcome as the content-free decision record that
// feeds the decision log, the per-decision metrics and the span. It is
// built on first use and shared: callers must not modify it.
func (o *Outcome) DecisionRecord() *decisionlog.Decision {
	if o.decision == nil {
		o.decision = o.newDecisionRecord()
	}
	return o.decision
}

func (o *Outcome) newDecisionRecord() *decisionlog.Decision {
	d := &decisionlog.Decision{
		Time: time.Now(), ID: o.DecisionID, Principal: o.Agent, ClientID: o.ClientID, Actor: o.Actor, Server: o.Server, Method: o.Method, Tool: o.Tool,
		Plane: o.Plane.String(), Action: string(o.Action), WouldAction: string(o.WouldAction), Mode: string(o.Mode),
		Enforced: o.Enforced, Rule: strings.Join(o.Rules, ","), PolicyVersion: o.PolicyVersion, Score: o.Risk,
		Latency: decisionlog.Latency{Total: o.Duration},
	}
	if d.Action == "" { // decided outside the policy engine (trust plane, pinning, ...)
		d.Action, d.WouldAction, d.Mode, d.Enforced = actionName(o.Decision), actionName(o.WouldBe), "enforce", o.Decision == o.WouldBe
	}
	for _, f := range o.Factors {
		d.Factors = append(d.Factors, decisionlog.Factor{Name: f.Name, Score: f.Value, Weight: f.Weight, Reason: f.Reason})
	}
	for _, f := range o.Findings {
		typ := f.EntityType
		if typ == "" {
			typ = f.Detector + ":" + f.Category
		}
		d.Findings = append(d.Findings, decisionlog.Finding{Type: typ, Rule: f.Detector, Path: f.Path, Count: f.Count})
	}
	return d
}

func actionName(d audit.Decision) string {
	switch d {
	case audit.DecisionApproval:
		return "require_approval"
	case audit.DecisionDryRun:
		return "allow"
	}
	return d.String()
}
