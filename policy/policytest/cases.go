package policytest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/policy"
)

// DefaultNow is the evaluation time of cases that do not set `now`
// (a Tuesday, 10:00 UTC).
var DefaultNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// Suite is a cases file.
type Suite struct {
	Cases []Case `yaml:"cases"`
}

// Case is one input and its expectation.
type Case struct {
	Name   string `yaml:"name"`
	Input  Input  `yaml:"input"`
	Expect Expect `yaml:"expect"`
}

// Input mirrors policy.Input in YAML.
type Input struct {
	Plane       policy.Plane           `yaml:"plane"`  // default request
	Method      string                 `yaml:"method"` // default tools/call
	Server      string                 `yaml:"server"`
	Tool        string                 `yaml:"tool"`
	Args        map[string]any         `yaml:"args"`
	Agent       Agent                  `yaml:"agent"`
	Session     string                 `yaml:"session"`
	Findings    []Finding              `yaml:"findings"`
	Annotations *Annotations           `yaml:"annotations"`
	Environment string                 `yaml:"environment"`
	Behavior    *policy.BehaviorSignal `yaml:"behavior"`
	Now         string                 `yaml:"now"` // RFC 3339
}

// Agent mirrors policy.Identity.
type Agent struct {
	ID       string   `yaml:"id"`
	Groups   []string `yaml:"groups"`
	Roles    []string `yaml:"roles"`
	Trust    string   `yaml:"trust"`
	Source   string   `yaml:"source"`
	Insecure bool     `yaml:"insecure"`
}

// Finding mirrors policy.Finding.
type Finding struct {
	Detector   string  `yaml:"detector"`
	Category   string  `yaml:"category"`
	EntityType string  `yaml:"entity_type"`
	Confidence float64 `yaml:"confidence"`
	Count      int     `yaml:"count"`
}

// Annotations mirrors policy.ToolAnnotations with MCP's camelCase names.
type Annotations struct {
	ReadOnlyHint    *bool `yaml:"readOnlyHint"`
	DestructiveHint *bool `yaml:"destructiveHint"`
	IdempotentHint  *bool `yaml:"idempotentHint"`
	OpenWorldHint   *bool `yaml:"openWorldHint"`
}

// Expect lists what must hold; unset fields are not checked (action is
// required).
type Expect struct {
	Action      policy.Action  `yaml:"action"`
	WouldAction policy.Action  `yaml:"would_action"`
	Rule        string         `yaml:"rule"`
	Mode        policy.Mode    `yaml:"mode"`
	Enforced    *bool          `yaml:"enforced"`
	Score       *ScoreBand     `yaml:"score"`
	Factors     map[string]int `yaml:"factors"`
	Redact      string         `yaml:"redact"`
	ResultMode  string         `yaml:"result_mode"`
	// Visible checks ToolVisible(agent, server, tool) (tools/list filtering).
	Visible *bool `yaml:"visible"`
}

// ScoreBand is an inclusive score range.
type ScoreBand struct {
	Min int `yaml:"min"`
	Max int `yaml:"max"`
}

// Load reads a cases file strictly.
func Load(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load cases %s: %w", path, err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load cases %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes and checks a cases file.
func Parse(data []byte) (*Suite, error) {
	var s Suite
	if err := config.DecodeStrict(data, &s); err != nil {
		return nil, err
	}
	var errs []string
	seen := map[string]bool{}
	for i, c := range s.Cases {
		p := fmt.Sprintf("cases[%d]", i)
		if c.Name == "" {
			errs = append(errs, p+".name: is required")
		} else if seen[c.Name] {
			errs = append(errs, fmt.Sprintf("%s.name: duplicate case %q", p, c.Name))
		}
		seen[c.Name] = true
		if c.Expect.Action == "" && c.Expect.Visible == nil {
			errs = append(errs, p+".expect: needs action or visible")
		}
		if c.Input.Now != "" {
			if _, err := time.Parse(time.RFC3339, c.Input.Now); err != nil {
				errs = append(errs, fmt.Sprintf("%s.input.now: %v", p, err))
			}
		}
		if b := c.Expect.Score; b != nil && (b.Min < 0 || b.Max > 100 || b.Min > b.Max) {
			errs = append(errs, p+".expect.score: want 0 <= min <= max <= 100")
		}
		for k := range c.Expect.Factors {
			if !slices.Contains(policy.FactorNames[:], k) {
				errs = append(errs, fmt.Sprintf("%s.expect.factors.%s: unknown factor", p, k))
			}
		}
	}
	if len(s.Cases) == 0 {
		errs = append(errs, "cases: no cases")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return &s, nil
}

// PolicyInput converts a case input to a policy.Input.
func (in *Input) PolicyInput() (*policy.Input, error) {
	out := &policy.Input{
		Plane: in.Plane, Method: in.Method, Server: in.Server, Tool: in.Tool,
		Agent: policy.Identity{ID: in.Agent.ID, Groups: in.Agent.Groups, Roles: in.Agent.Roles,
			Trust: in.Agent.Trust, Source: in.Agent.Source, Insecure: in.Agent.Insecure},
		Session: in.Session, Environment: in.Environment, Behavior: in.Behavior, Now: DefaultNow,
	}
	if out.Plane == "" {
		out.Plane = policy.PlaneRequest
	}
	if out.Method == "" {
		out.Method = "tools/call"
	}
	if in.Args != nil {
		b, err := json.Marshal(in.Args)
		if err != nil {
			return nil, fmt.Errorf("args: %w", err)
		}
		out.Args = b
	}
	for _, f := range in.Findings {
		out.Findings = append(out.Findings, policy.Finding(f))
	}
	if a := in.Annotations; a != nil {
		out.Annotations = &policy.ToolAnnotations{ReadOnlyHint: a.ReadOnlyHint, DestructiveHint: a.DestructiveHint, IdempotentHint: a.IdempotentHint, OpenWorldHint: a.OpenWorldHint}
	}
	if in.Now != "" {
		t, err := time.Parse(time.RFC3339, in.Now)
		if err != nil {
			return nil, fmt.Errorf("now: %w", err)
		}
		out.Now = t
	}
	return out, nil
}

// Result is one case's outcome.
type Result struct {
	Name     string
	Pass     bool
	Failures []string // what did not match
	Decision policy.Decision
	Visible  *bool
}

// Run evaluates every case.
func Run(p *policy.Policy, s *Suite) []Result {
	out := make([]Result, 0, len(s.Cases))
	for _, c := range s.Cases {
		out = append(out, runCase(p, c))
	}
	return out
}

func runCase(p *policy.Policy, c Case) Result {
	r := Result{Name: c.Name}
	in, err := c.Input.PolicyInput()
	if err != nil {
		r.Failures = append(r.Failures, err.Error())
		return r
	}
	e := c.Expect
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	if e.Visible != nil {
		v := p.ToolVisible(in.Agent, in.Server, in.Tool)
		r.Visible = &v
		if v != *e.Visible {
			fail("visible: got %v, want %v", v, *e.Visible)
		}
	}
	if e.Action != "" {
		d := p.Evaluate(in)
		r.Decision = d
		if d.Action != e.Action {
			fail("action: got %s, want %s", d.Action, e.Action)
		}
		if e.WouldAction != "" && d.WouldAction != e.WouldAction {
			fail("would_action: got %s, want %s", d.WouldAction, e.WouldAction)
		}
		if e.Rule != "" && d.Rule != e.Rule {
			fail("rule: got %s, want %s", d.Rule, e.Rule)
		}
		if e.Mode != "" && d.Mode != e.Mode {
			fail("mode: got %s, want %s", d.Mode, e.Mode)
		}
		if e.Enforced != nil && d.Enforced != *e.Enforced {
			fail("enforced: got %v, want %v", d.Enforced, *e.Enforced)
		}
		if b := e.Score; b != nil && (d.Score < b.Min || d.Score > b.Max) {
			fail("score: got %d, want %d-%d", d.Score, b.Min, b.Max)
		}
		for _, f := range d.Factors {
			if want, ok := e.Factors[f.Name]; ok && f.Value != want {
				fail("factor %s: got %d (%s), want %d", f.Name, f.Value, f.Reason, want)
			}
		}
		if e.Redact != "" && d.Redact != e.Redact {
			fail("redact: got %q, want %q", d.Redact, e.Redact)
		}
		if e.ResultMode != "" && d.ResultMode != e.ResultMode {
			fail("result_mode: got %q, want %q", d.ResultMode, e.ResultMode)
		}
	}
	r.Pass = len(r.Failures) == 0
	return r
}

// Coverage lists what a suite's passing decisions never exercised: each
// action (as WouldAction), each rollout mode (as Decision.Mode), each factor
// at a non-zero value, and tools/list filtering both ways. Empty means full
// coverage.
func Coverage(results []Result) []string {
	actions := map[policy.Action]bool{}
	modes := map[policy.Mode]bool{}
	factors := map[string]bool{}
	vis := map[bool]bool{}
	for _, r := range results {
		if r.Visible != nil {
			vis[*r.Visible] = true
		}
		if r.Decision.ID == "" {
			continue
		}
		actions[r.Decision.WouldAction] = true
		modes[r.Decision.Mode] = true
		for _, f := range r.Decision.Factors {
			if f.Value > 0 {
				factors[f.Name] = true
			}
		}
	}
	var missing []string
	for _, a := range []policy.Action{policy.ActionAllow, policy.ActionRedact, policy.ActionSandbox, policy.ActionRequireApproval, policy.ActionBlock} {
		if !actions[a] {
			missing = append(missing, "action "+string(a))
		}
	}
	for _, m := range []policy.Mode{policy.ModeEnforce, policy.ModeDryRun, policy.ModeShadow, policy.ModeStaged} {
		if !modes[m] {
			missing = append(missing, "mode "+string(m))
		}
	}
	for _, f := range policy.FactorNames {
		if !factors[f] {
			missing = append(missing, "factor "+f)
		}
	}
	if !vis[true] || !vis[false] {
		missing = append(missing, "tools/list visibility (need a visible and a hidden case)")
	}
	return missing
}
