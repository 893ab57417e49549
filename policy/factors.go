package policy

import (
	"strconv"
	"strings"
	"time"
)

// Annotation risk anchors (MCP tool annotations, spec defaults applied:
// destructiveHint and openWorldHint are true when absent).
const (
	annReadOnlyRisk       = 10
	annDestructiveRisk    = 80
	annNonDestructiveRisk = 40
	annOpenWorldBump      = 10
	annIdempotentDiscount = 5
)

// AnnotationRisk is the action risk implied by (untrusted) MCP annotations.
func AnnotationRisk(a *ToolAnnotations) int {
	if a.ReadOnlyHint != nil && *a.ReadOnlyHint && (a.DestructiveHint == nil || !*a.DestructiveHint) {
		return annReadOnlyRisk
	}
	v := annDestructiveRisk
	if a.DestructiveHint != nil && !*a.DestructiveHint {
		v = annNonDestructiveRisk
	}
	if a.OpenWorldHint == nil || *a.OpenWorldHint {
		v += annOpenWorldBump
	}
	if a.IdempotentHint != nil && *a.IdempotentHint {
		v -= annIdempotentDiscount
	}
	return clamp(v)
}

func clamp(v int) int {
	if v < 0 {
		return 0
	}
	if v > 100 {
		return 100
	}
	return v
}

// score fills the seven factors (in FactorNames order) and returns the
// weighted 0-100 score.
func (p *Policy) score(in *Input, agent *Identity, srv *server, tl *tool, fs []Factor) int {
	// action
	{
		v, floor := DefaultToolRisk, DefaultToolRisk
		reason := "tool not declared"
		if tl != nil {
			v, floor = tl.risk, tl.floor
			reason = "declared risk " + strconv.Itoa(v)
		}
		if in.Annotations != nil {
			ar := AnnotationRisk(in.Annotations)
			nv := max(floor, ar)
			if tl == nil {
				nv = max(v, ar)
			}
			switch {
			case nv > v:
				reason += "; raised to " + strconv.Itoa(nv) + " by annotations"
			case nv < v:
				reason += "; lowered to " + strconv.Itoa(nv) + " by annotations (floor " + strconv.Itoa(floor) + ")"
			}
			v = nv
		}
		fs[0] = Factor{Name: FactorAction, Value: v, Reason: reason}
	}
	// agent
	{
		v, ok := p.trust[agent.Trust]
		reason := "trust " + agent.Trust
		if !ok {
			v, ok = p.trust["untrusted"]
			if !ok {
				v = 100
			}
			reason = "unknown trust level " + strconv.Quote(agent.Trust) + " treated as untrusted"
		}
		if agent.Source == SourceAnonymous {
			reason += " (anonymous)"
		}
		if agent.Insecure && v < p.insecureMin {
			v = p.insecureMin
			reason += "; insecure header identity"
		}
		fs[1] = Factor{Name: FactorAgent, Value: v, Reason: reason}
	}
	// temporal
	{
		now := in.Now
		if now.IsZero() {
			now = time.Now()
		}
		v, reason := p.temporal(now)
		fs[2] = Factor{Name: FactorTemporal, Value: v, Reason: reason}
	}
	// environmental
	{
		env := in.Environment
		if env == "" && srv != nil {
			env = srv.env
		}
		v, ok := p.envs[env]
		reason := "environment " + env
		if !ok {
			v = p.defaultEnv
			if env == "" {
				reason = "no environment tag"
			} else {
				reason = "unknown environment " + strconv.Quote(env)
			}
		}
		fs[3] = Factor{Name: FactorEnvironmental, Value: v, Reason: reason}
	}
	// behavioral
	if b := in.Behavior; b != nil {
		reason := "behaviour score " + strconv.Itoa(b.Score)
		if b.Reason != "" {
			reason += ": " + b.Reason
		}
		fs[4] = Factor{Name: FactorBehavioral, Value: clamp(b.Score), Reason: reason}
	} else {
		fs[4] = Factor{Name: FactorBehavioral, Value: 0, Reason: "no behaviour signal"}
	}
	// compliance
	{
		v := 0
		var names []string
		names = p.complianceHits(in.Findings, &v)
		reason := "no regulated data"
		if len(names) > 0 {
			reason = "regulated data: " + strings.Join(names, ",")
		}
		fs[5] = Factor{Name: FactorCompliance, Value: v, Reason: reason}
	}
	// data sensitivity
	{
		top, total := 0, 0
		topType := ""
		for i := range in.Findings {
			f := &in.Findings[i]
			if f.Confidence < p.minConf {
				continue
			}
			w, ok := p.sensTypes[f.EntityType]
			if !ok {
				w, ok = p.sensTypes[f.Category]
			}
			if !ok {
				w = p.sensDefault
			}
			if w > top || topType == "" {
				top, topType = max(w, top), f.EntityType
			}
			total += max(f.Count, 1)
		}
		v, reason := 0, "no findings"
		if total > 0 {
			v = clamp(top + p.perItem*(total-1))
			reason = strconv.Itoa(total) + " finding(s), most sensitive " + topType
		}
		fs[6] = Factor{Name: FactorDataSensitivity, Value: v, Reason: reason}
	}
	sum := 0
	for i := range fs {
		fs[i].Weight = p.weights[i]
		sum += fs[i].Value * p.weights[i]
	}
	if p.wsum == 0 {
		return 0
	}
	return clamp((sum + p.wsum/2) / p.wsum)
}

// temporal returns the risk of now: the first matching window's risk, or
// the off-hours default.
func (p *Policy) temporal(now time.Time) (int, string) {
	if len(p.windows) == 0 {
		return p.offHours, "no time windows"
	}
	t := now.In(p.loc)
	m := t.Hour()*60 + t.Minute()
	wd := t.Weekday()
	for _, w := range p.windows {
		if w.days != 0 && w.days&(1<<wd) == 0 {
			continue
		}
		in := false
		if w.start <= w.end {
			in = m >= w.start && m < w.end
		} else { // wraps midnight
			in = m >= w.start || m < w.end
		}
		if in {
			return w.risk, "within " + w.name
		}
	}
	return p.offHours, "outside every window (off-hours)"
}

// complianceHits lists the regulated categories the findings touch (in
// name order); if v is non-nil it receives the highest category risk.
func (p *Policy) complianceHits(findings []Finding, v *int) []string {
	var names []string
	for _, c := range p.compliance {
		hit := false
		for i := range findings {
			f := &findings[i]
			if f.Confidence < p.minConf {
				continue
			}
			if containsFold(c.categories, f.Category) || containsFold(c.entityTypes, f.EntityType) {
				hit = true
				break
			}
		}
		if hit {
			names = append(names, c.name)
			if v != nil && c.risk > *v {
				*v = c.risk
			}
		}
	}
	return names
}

func containsFold(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
