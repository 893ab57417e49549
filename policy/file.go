package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// File is the YAML policy document.
type File struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`
}

// APIVersion and Kind accepted in policy files.
const (
	APIVersion = "portcullis.dev/v1"
	Kind       = "ToolPolicy"
)

// Metadata names and versions a policy.
type Metadata struct {
	Name string `yaml:"name"`
	// Version is reported in every decision; empty means a content hash.
	Version string `yaml:"version"`
}

// Spec is the body of a policy.
type Spec struct {
	// Mode is the default rollout mode for rules, risk bands and default
	// deny (default enforce).
	Mode Mode `yaml:"mode"`
	// Rollout configures staged mode.
	Rollout Rollout `yaml:"rollout"`
	// Anonymous is the identity given to unauthenticated calls.
	Anonymous Anonymous `yaml:"anonymous"`
	// Servers lists the known servers and tools; anything else is denied.
	Servers []ServerSpec `yaml:"servers"`
	Rules   []RuleSpec   `yaml:"rules"`
	Risk    RiskSpec     `yaml:"risk"`
	Result  ResultSpec   `yaml:"result"`
	CEL     CELSpec      `yaml:"cel"`
	// Behavior configures the session and behaviour engine (optional;
	// absent means the processor runs no behaviour engine). See
	// docs/behavior.md.
	Behavior *behavior.Config `yaml:"behavior"`
}

// Rollout says how staged mode picks who is enforced.
type Rollout struct {
	// Percent of agents (or sessions) enforced, 0-100.
	Percent int `yaml:"percent"`
	// By is "agent" (default) or "session".
	By string `yaml:"by"`
}

// Anonymous is the default identity for unauthenticated calls.
type Anonymous struct {
	ID     string   `yaml:"id"`    // default "anonymous"
	Trust  string   `yaml:"trust"` // default "untrusted"
	Groups []string `yaml:"groups"`
	// Action, when set, forces this decision for every anonymous call
	// (e.g. block). Empty: evaluate normally as the anonymous identity.
	Action Action `yaml:"action"`
}

// ServerSpec is one known server.
type ServerSpec struct {
	Name string `yaml:"name"`
	// Environment tag: production, staging or dev (any key of
	// risk.environments).
	Environment string     `yaml:"environment"`
	Tools       []ToolSpec `yaml:"tools"`
}

// ToolSpec declares a tool (exact name or glob) and its risk.
type ToolSpec struct {
	Name string `yaml:"name"`
	// Risk is the declared action risk 0-100 (default risk.default_tool_risk).
	Risk *int `yaml:"risk"`
	// Floor is the lowest value untrusted annotations may push the action
	// factor to (default: Risk, i.e. annotations can only raise it).
	Floor *int `yaml:"floor"`
}

// RuleSpec is one Istio-style rule.
type RuleSpec struct {
	Name   string    `yaml:"name"`
	Action Action    `yaml:"action"` // allow | deny | block | require_approval | sandbox | redact
	Mode   Mode      `yaml:"mode"`   // default spec.mode
	From   Source    `yaml:"from"`
	To     Operation `yaml:"to"`
	// When is a CEL boolean expression over tool, server, method, plane,
	// args, agent, session, environment, findings, compliance and risk.
	When string `yaml:"when"`
	// Force on an allow rule overrides the risk band (never a deny rule).
	Force bool `yaml:"force"`
	// Redact configures action: redact.
	Redact RedactSpec `yaml:"redact"`
	// Result overrides spec.result.on_block for this rule ("block"|"notice").
	Result string `yaml:"result"`
	// Rollout overrides spec.rollout for a staged rule.
	Rollout *Rollout `yaml:"rollout"`
}

// Source selects agents. Empty lists match everyone; several lists must
// all match (AND); entries within a list are alternatives (OR).
type Source struct {
	Agents     []string `yaml:"agents"`     // globs over Identity.ID, any source
	Principals []string `yaml:"principals"` // globs over Identity.ID, verified sources only (jwt, spiffe)
	Groups     []string `yaml:"groups"`
	Roles      []string `yaml:"roles"`
	Trust      []string `yaml:"trust"`
	Sources    []string `yaml:"sources"` // jwt | spiffe | header | anonymous
	NotAgents  []string `yaml:"not_agents"`
}

// Operation selects calls.
type Operation struct {
	Servers []string `yaml:"servers"` // globs
	Tools   []string `yaml:"tools"`   // globs
	Methods []string `yaml:"methods"` // e.g. tools/call
	Planes  []Plane  `yaml:"planes"`  // request | result | list
}

// RedactSpec says how to redact.
type RedactSpec struct {
	Style string   `yaml:"style"` // mask (default) | hash | remove
	Types []string `yaml:"types"` // entity types; empty = all findings
}

// RiskSpec configures the seven-factor score.
type RiskSpec struct {
	Weights         Weights        `yaml:"weights"`
	Thresholds      []Band         `yaml:"thresholds"`
	DefaultToolRisk *int           `yaml:"default_tool_risk"`
	Trust           map[string]int `yaml:"trust"`
	// InsecureMin is the minimum agent factor for insecure (header) identities.
	InsecureMin            *int                      `yaml:"insecure_min"`
	Environments           map[string]int            `yaml:"environments"`
	DefaultEnvironmentRisk *int                      `yaml:"default_environment_risk"`
	Temporal               TemporalSpec              `yaml:"temporal"`
	Compliance             map[string]ComplianceSpec `yaml:"compliance"`
	Sensitivity            SensitivitySpec           `yaml:"sensitivity"`
}

// Weights are the relative factor weights (need not sum to 100).
type Weights struct {
	Action          *int `yaml:"action"`
	Agent           *int `yaml:"agent"`
	Temporal        *int `yaml:"temporal"`
	Environmental   *int `yaml:"environmental"`
	Behavioral      *int `yaml:"behavioral"`
	Compliance      *int `yaml:"compliance"`
	DataSensitivity *int `yaml:"data_sensitivity"`
}

// Band maps a score range (inclusive) to an action.
type Band struct {
	Name   string `yaml:"name"`
	Min    int    `yaml:"min"`
	Max    int    `yaml:"max"`
	Action Action `yaml:"action"`
}

// TemporalSpec defines time windows in a time zone.
type TemporalSpec struct {
	Timezone string       `yaml:"timezone"` // IANA name, default UTC
	Windows  []WindowSpec `yaml:"windows"`
	// DefaultRisk applies outside every window (e.g. off-hours).
	DefaultRisk *int `yaml:"default_risk"`
}

// WindowSpec is a weekly window [start, end) on the listed days.
type WindowSpec struct {
	Name  string   `yaml:"name"`
	Days  []string `yaml:"days"`  // mon..sun; empty = every day
	Start string   `yaml:"start"` // HH:MM
	End   string   `yaml:"end"`   // HH:MM; may be < start to wrap midnight
	Risk  int      `yaml:"risk"`
}

// ComplianceSpec maps finding categories / entity types to a regulated
// category (pci, phi, gdpr, …).
type ComplianceSpec struct {
	Risk        int      `yaml:"risk"`
	Categories  []string `yaml:"categories"`
	EntityTypes []string `yaml:"entity_types"`
}

// SensitivitySpec weights findings by type and volume.
type SensitivitySpec struct {
	Types           map[string]int `yaml:"types"` // entity type (or category) → 0-100
	DefaultTypeRisk *int           `yaml:"default_type_risk"`
	// PerItem is added for every occurrence beyond the first.
	PerItem       *int     `yaml:"per_item"`
	MinConfidence *float64 `yaml:"min_confidence"`
}

// ResultSpec configures result-plane blocking.
type ResultSpec struct {
	OnBlock string `yaml:"on_block"` // block (default) | notice
}

// CELSpec bounds CEL evaluation.
type CELSpec struct {
	// CostLimit is the runtime cost budget per expression (default 100000,
	// about 5 ms by Kubernetes' 1 unit ≈ 50 ns heuristic).
	CostLimit uint64 `yaml:"cost_limit"`
}

// Defaults, applied explicitly by ApplyDefaults.
const (
	DefaultCostLimit       = 100000
	DefaultToolRisk        = 50
	DefaultEnvironmentRisk = 50
	DefaultTypeRisk        = 20
	DefaultPerItem         = 5
	DefaultMinConfidence   = 0.5
	DefaultInsecureMin     = 50
	MaxRules               = 1000
	MaxWhenLen             = 4096
)

func intp(v int) *int { return &v }

// ApplyDefaults fills every unset field with its documented default.
func (f *File) ApplyDefaults() {
	s := &f.Spec
	if s.Behavior != nil {
		s.Behavior.ApplyDefaults()
	}
	if s.Mode == "" {
		s.Mode = ModeEnforce
	}
	if s.Rollout.By == "" {
		s.Rollout.By = "agent"
	}
	if s.Anonymous.ID == "" {
		s.Anonymous.ID = "anonymous"
	}
	if s.Anonymous.Action == "deny" {
		s.Anonymous.Action = ActionBlock
	}
	if s.Anonymous.Trust == "" {
		s.Anonymous.Trust = "untrusted"
	}
	if s.Result.OnBlock == "" {
		s.Result.OnBlock = ResultBlock
	}
	if s.CEL.CostLimit == 0 {
		s.CEL.CostLimit = DefaultCostLimit
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		if r.Mode == "" {
			r.Mode = s.Mode
		}
		if r.Action == "deny" {
			r.Action = ActionBlock
		}
		if r.Action == ActionRedact && r.Redact.Style == "" {
			r.Redact.Style = "mask"
		}
		if r.Rollout != nil && r.Rollout.By == "" {
			r.Rollout.By = s.Rollout.By
		}
	}
	rk := &s.Risk
	w := &rk.Weights
	for _, d := range []struct {
		p **int
		v int
	}{{&w.Action, 30}, {&w.Agent, 15}, {&w.Temporal, 10}, {&w.Environmental, 15}, {&w.Behavioral, 5}, {&w.Compliance, 15}, {&w.DataSensitivity, 10}} {
		if *d.p == nil {
			*d.p = intp(d.v)
		}
	}
	if rk.Thresholds == nil {
		rk.Thresholds = []Band{
			{Name: "low", Min: 0, Max: 39, Action: ActionAllow},
			{Name: "medium", Min: 40, Max: 69, Action: ActionRequireApproval},
			{Name: "high", Min: 70, Max: 100, Action: ActionBlock},
		}
	}
	for i := range rk.Thresholds {
		if rk.Thresholds[i].Action == "deny" {
			rk.Thresholds[i].Action = ActionBlock
		}
		if rk.Thresholds[i].Name == "" {
			rk.Thresholds[i].Name = fmt.Sprintf("%d-%d", rk.Thresholds[i].Min, rk.Thresholds[i].Max)
		}
	}
	if rk.DefaultToolRisk == nil {
		rk.DefaultToolRisk = intp(DefaultToolRisk)
	}
	if rk.Trust == nil {
		rk.Trust = map[string]int{"high": 10, "medium": 40, "low": 70, "untrusted": 90}
	}
	if rk.InsecureMin == nil {
		rk.InsecureMin = intp(DefaultInsecureMin)
	}
	if rk.Environments == nil {
		rk.Environments = map[string]int{"production": 80, "staging": 40, "dev": 10}
	}
	if rk.DefaultEnvironmentRisk == nil {
		rk.DefaultEnvironmentRisk = intp(DefaultEnvironmentRisk)
	}
	if rk.Temporal.Timezone == "" {
		rk.Temporal.Timezone = "UTC"
	}
	if rk.Temporal.DefaultRisk == nil {
		if len(rk.Temporal.Windows) == 0 {
			rk.Temporal.DefaultRisk = intp(0)
		} else {
			rk.Temporal.DefaultRisk = intp(70)
		}
	}
	if rk.Compliance == nil {
		rk.Compliance = map[string]ComplianceSpec{
			"pci":  {Risk: 100, Categories: []string{"pci"}, EntityTypes: []string{"credit_card", "iban"}},
			"phi":  {Risk: 90, Categories: []string{"phi"}, EntityTypes: []string{"medical_record_number", "health_insurance_id"}},
			"gdpr": {Risk: 60, Categories: []string{"pii"}, EntityTypes: []string{"email", "phone", "person", "address", "ip_address"}},
		}
	}
	sn := &rk.Sensitivity
	if sn.Types == nil {
		sn.Types = map[string]int{"email": 30, "phone": 30, "ip_address": 20, "credit_card": 90, "iban": 80, "us_ssn": 90, "api_key": 90, "private_key": 100, "password": 90, "prompt_injection": 70}
	}
	if sn.DefaultTypeRisk == nil {
		sn.DefaultTypeRisk = intp(DefaultTypeRisk)
	}
	if sn.PerItem == nil {
		sn.PerItem = intp(DefaultPerItem)
	}
	if sn.MinConfidence == nil {
		v := DefaultMinConfidence
		sn.MinConfidence = &v
	}
	for i := range s.Servers {
		for j := range s.Servers[i].Tools {
			t := &s.Servers[i].Tools[j]
			if t.Risk == nil {
				t.Risk = intp(*rk.DefaultToolRisk)
			}
			if t.Floor == nil {
				t.Floor = intp(*t.Risk)
			}
		}
	}
}

var validDays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func validMode(m Mode) bool {
	return m == ModeEnforce || m == ModeDryRun || m == ModeShadow || m == ModeStaged
}

func validAction(a Action) bool {
	switch a {
	case ActionAllow, ActionBlock, ActionRequireApproval, ActionSandbox, ActionRedact:
		return true
	}
	return false
}

// parseHHMM returns minutes since midnight.
func parseHHMM(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("invalid time %q: want HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// validate checks everything but CEL (compiled separately) and returns one
// error per problem, each starting with its field path.
func (f *File) validate() []error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	pct := func(path string, v int) {
		if v < 0 || v > 100 {
			add(path, "must be between 0 and 100, got %d", v)
		}
	}
	if f.APIVersion != APIVersion {
		add("apiVersion", "must be %q, got %q", APIVersion, f.APIVersion)
	}
	if f.Kind != Kind {
		add("kind", "must be %q, got %q", Kind, f.Kind)
	}
	if f.Metadata.Name == "" {
		add("metadata.name", "is required")
	}
	s := &f.Spec
	if !validMode(s.Mode) {
		add("spec.mode", "unknown mode %q: want enforce, dry-run, shadow or staged", s.Mode)
	}
	checkRollout := func(path string, r *Rollout) {
		pct(path+".percent", r.Percent)
		if r.By != "agent" && r.By != "session" {
			add(path+".by", "must be agent or session, got %q", r.By)
		}
	}
	checkRollout("spec.rollout", &s.Rollout)
	if s.Anonymous.Action != "" && !validAction(s.Anonymous.Action) {
		add("spec.anonymous.action", "unknown action %q", s.Anonymous.Action)
	}
	if _, ok := s.Risk.Trust[s.Anonymous.Trust]; !ok {
		add("spec.anonymous.trust", "unknown trust level %q (not in spec.risk.trust)", s.Anonymous.Trust)
	}
	if s.Result.OnBlock != ResultBlock && s.Result.OnBlock != ResultNotice {
		add("spec.result.on_block", "must be block or notice, got %q", s.Result.OnBlock)
	}
	if len(s.Servers) == 0 {
		add("spec.servers", "at least one server is required (unknown servers are denied)")
	}
	seenSrv := map[string]int{}
	for i, sv := range s.Servers {
		p := fmt.Sprintf("spec.servers[%d]", i)
		if sv.Name == "" {
			add(p+".name", "is required")
		} else if j, dup := seenSrv[sv.Name]; dup {
			add(p+".name", "duplicate server %q (also spec.servers[%d])", sv.Name, j)
		} else {
			seenSrv[sv.Name] = i
		}
		if sv.Environment != "" {
			if _, ok := s.Risk.Environments[sv.Environment]; !ok {
				add(p+".environment", "unknown environment %q (not in spec.risk.environments)", sv.Environment)
			}
		}
		for j, t := range sv.Tools {
			tp := fmt.Sprintf("%s.tools[%d]", p, j)
			if err := config.ValidGlob(t.Name); err != nil {
				add(tp+".name", "%v", err)
			}
			if t.Risk != nil {
				pct(tp+".risk", *t.Risk)
			}
			if t.Floor != nil && (t.Risk == nil || *t.Floor != *t.Risk) { // a defaulted floor repeats risk
				pct(tp+".floor", *t.Floor)
			}
		}
	}
	if len(s.Rules) > MaxRules {
		add("spec.rules", "at most %d rules, got %d", MaxRules, len(s.Rules))
	}
	seenRule := map[string]int{}
	for i := range s.Rules {
		r := &s.Rules[i]
		p := fmt.Sprintf("spec.rules[%d]", i)
		if r.Name == "" {
			add(p+".name", "is required")
		} else if j, dup := seenRule[r.Name]; dup {
			add(p+".name", "duplicate rule name %q (also spec.rules[%d])", r.Name, j)
		} else {
			seenRule[r.Name] = i
		}
		if !validAction(r.Action) {
			add(p+".action", "unknown action %q: want allow, deny, require_approval, sandbox or redact", r.Action)
		}
		if r.Mode != s.Mode && !validMode(r.Mode) { // an inherited bad mode is reported once, at spec.mode
			add(p+".mode", "unknown mode %q: want enforce, dry-run, shadow or staged", r.Mode)
		}
		if r.Force && r.Action != ActionAllow {
			add(p+".force", "only meaningful on allow rules (deny-type rules always win)")
		}
		if r.Action == ActionRedact {
			switch r.Redact.Style {
			case "mask", "hash", "remove":
			default:
				add(p+".redact.style", "must be mask, hash or remove, got %q", r.Redact.Style)
			}
		} else if r.Redact.Style != "" || len(r.Redact.Types) > 0 {
			add(p+".redact", "only allowed with action: redact")
		}
		if r.Result != "" && r.Result != ResultBlock && r.Result != ResultNotice {
			add(p+".result", "must be block or notice, got %q", r.Result)
		}
		if r.Rollout != nil {
			checkRollout(p+".rollout", r.Rollout)
		}
		for k, g := range slices.Concat(r.From.Agents, r.From.Principals, r.From.NotAgents) {
			if err := config.ValidGlob(g); err != nil {
				add(fmt.Sprintf("%s.from[%d]", p, k), "%v", err)
			}
		}
		for k, t := range r.From.Trust {
			if _, ok := s.Risk.Trust[t]; !ok {
				add(fmt.Sprintf("%s.from.trust[%d]", p, k), "unknown trust level %q (not in spec.risk.trust)", t)
			}
		}
		for k, src := range r.From.Sources {
			switch src {
			case SourceJWT, SourceSPIFFE, SourceHeader, SourceAnonymous:
			default:
				add(fmt.Sprintf("%s.from.sources[%d]", p, k), "unknown source %q: want jwt, spiffe, header or anonymous", src)
			}
		}
		for k, g := range r.To.Servers {
			if err := config.ValidGlob(g); err != nil {
				add(fmt.Sprintf("%s.to.servers[%d]", p, k), "%v", err)
			}
		}
		for k, g := range r.To.Tools {
			if err := config.ValidGlob(g); err != nil {
				add(fmt.Sprintf("%s.to.tools[%d]", p, k), "%v", err)
			}
		}
		for k, pl := range r.To.Planes {
			if pl != PlaneRequest && pl != PlaneResult && pl != PlaneList {
				add(fmt.Sprintf("%s.to.planes[%d]", p, k), "unknown plane %q: want request, result or list", pl)
			}
		}
		if len(r.When) > MaxWhenLen {
			add(p+".when", "longer than %d bytes", MaxWhenLen)
		}
	}
	rk := &s.Risk
	w := rk.Weights
	total := 0
	for _, e := range []struct {
		n string
		v *int
	}{{"action", w.Action}, {"agent", w.Agent}, {"temporal", w.Temporal}, {"environmental", w.Environmental}, {"behavioral", w.Behavioral}, {"compliance", w.Compliance}, {"data_sensitivity", w.DataSensitivity}} {
		if *e.v < 0 || *e.v > 1000 {
			add("spec.risk.weights."+e.n, "must be between 0 and 1000, got %d", *e.v)
		} else {
			total += *e.v
		}
	}
	if total == 0 {
		add("spec.risk.weights", "at least one weight must be positive")
	}
	// Bands must tile 0..100 exactly, in order.
	next := 0
	for i, b := range rk.Thresholds {
		p := fmt.Sprintf("spec.risk.thresholds[%d]", i)
		if !validAction(b.Action) {
			add(p+".action", "unknown action %q", b.Action)
		}
		if b.Min != next {
			add(p+".min", "bands must cover 0-100 without gaps or overlaps: expected min %d, got %d", next, b.Min)
		}
		if b.Max < b.Min || b.Max > 100 {
			add(p+".max", "must be between min (%d) and 100, got %d", b.Min, b.Max)
		}
		next = b.Max + 1
	}
	if len(rk.Thresholds) == 0 || next != 101 {
		add("spec.risk.thresholds", "bands must end at 100")
	}
	pct("spec.risk.default_tool_risk", *rk.DefaultToolRisk)
	pct("spec.risk.insecure_min", *rk.InsecureMin)
	pct("spec.risk.default_environment_risk", *rk.DefaultEnvironmentRisk)
	for _, k := range sortedKeys(rk.Trust) {
		pct("spec.risk.trust."+k, rk.Trust[k])
	}
	for _, k := range sortedKeys(rk.Environments) {
		pct("spec.risk.environments."+k, rk.Environments[k])
	}
	if _, err := time.LoadLocation(rk.Temporal.Timezone); err != nil {
		add("spec.risk.temporal.timezone", "unknown time zone %q", rk.Temporal.Timezone)
	}
	pct("spec.risk.temporal.default_risk", *rk.Temporal.DefaultRisk)
	for i, win := range rk.Temporal.Windows {
		p := fmt.Sprintf("spec.risk.temporal.windows[%d]", i)
		if win.Name == "" {
			add(p+".name", "is required")
		}
		for k, d := range win.Days {
			if _, ok := validDays[strings.ToLower(d)]; !ok {
				add(fmt.Sprintf("%s.days[%d]", p, k), "unknown day %q: want mon, tue, wed, thu, fri, sat or sun", d)
			}
		}
		if _, err := parseHHMM(win.Start); err != nil {
			add(p+".start", "%v", err)
		}
		if _, err := parseHHMM(win.End); err != nil {
			add(p+".end", "%v", err)
		}
		pct(p+".risk", win.Risk)
	}
	for _, k := range sortedKeys(rk.Compliance) {
		c := rk.Compliance[k]
		pct("spec.risk.compliance."+k+".risk", c.Risk)
		if len(c.Categories) == 0 && len(c.EntityTypes) == 0 {
			add("spec.risk.compliance."+k, "needs categories or entity_types")
		}
	}
	sn := &rk.Sensitivity
	for _, k := range sortedKeys(sn.Types) {
		pct("spec.risk.sensitivity.types."+k, sn.Types[k])
	}
	pct("spec.risk.sensitivity.default_type_risk", *sn.DefaultTypeRisk)
	pct("spec.risk.sensitivity.per_item", *sn.PerItem)
	if *sn.MinConfidence < 0 || *sn.MinConfidence > 1 {
		add("spec.risk.sensitivity.min_confidence", "must be between 0 and 1, got %g", *sn.MinConfidence)
	}
	if s.CEL.CostLimit > 10_000_000 {
		add("spec.cel.cost_limit", "at most 10000000, got %d", s.CEL.CostLimit)
	}
	if s.Behavior != nil {
		errs = append(errs, s.Behavior.Validate("spec.behavior")...)
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
