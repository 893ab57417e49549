package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/ext"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// Policy is a compiled, validated, immutable policy. Build it with Parse or
// Load; it is safe for concurrent use.
type Policy struct {
	name     string
	version  string // declared version + content hash
	declared string // metadata.version
	mode     Mode
	rollout  Rollout

	anon       Identity
	anonAction Action

	servers map[string]*server
	rules   []*rule

	weights [7]int
	wsum    int
	bands   []Band

	trust       map[string]int
	insecureMin int
	envs        map[string]int
	defaultEnv  int
	loc         *time.Location
	windows     []window
	offHours    int
	compliance  []complianceCat
	sensTypes   map[string]int
	sensDefault int
	perItem     int
	minConf     float64

	resultOnBlock string
	behavior      *behavior.Config // spec.behavior, nil when absent
	sourceHash    [32]byte         // sha256 of the file bytes
}

type server struct {
	name  string
	env   string
	tools []tool
}

type tool struct {
	pattern     string
	exact       bool
	risk, floor int
}

type window struct {
	name       string
	days       uint8 // bit per time.Weekday; 0 = every day
	start, end int   // minutes since midnight
	risk       int
}

type complianceCat struct {
	name        string
	risk        int
	categories  []string
	entityTypes []string
}

type rule struct {
	idx     int
	name    string
	action  Action
	mode    Mode
	force   bool
	from    Source
	to      Operation
	prg     cel.Program // nil when the rule has no when clause
	redact  RedactSpec
	result  string
	rollout Rollout
}

// Name is metadata.name.
func (p *Policy) Name() string { return p.name }

// Behavior returns the policy's spec.behavior section, defaults applied and
// validated, ready for behavior.New; ok is false when the policy has none.
func (p *Policy) Behavior() (cfg behavior.Config, ok bool) {
	if p.behavior == nil {
		return behavior.Config{}, false
	}
	return *p.behavior, true
}

// Version identifies the policy content: "<metadata.version>+sha256:<8 hex>"
// (for example 2026-11-24.1+sha256:abcd1234), or "sha256:<12 hex>" without a
// metadata.version. The content hash is part of it so that two different
// policy files that forgot to bump metadata.version are still told apart in
// every decision and audit record.
func (p *Policy) Version() string { return p.version }

// DeclaredVersion is metadata.version as written in the file.
func (p *Policy) DeclaredVersion() string { return p.declared }

// Mode is the policy-wide rollout mode (spec.mode). A caller may run a
// shadow-mode policy entirely off the request path.
func (p *Policy) Mode() Mode { return p.mode }

// AnonymousIdentity is the identity given to unauthenticated calls.
func (p *Policy) AnonymousIdentity() Identity {
	id := p.anon
	id.Groups = slices.Clone(id.Groups)
	return id
}

// Load reads and parses a policy file.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", path, err)
	}
	return p, nil
}

// Parse strictly decodes, defaults, validates and compiles a policy. The
// error, if any, joins every problem found (one per line, each with its
// field path).
func Parse(data []byte) (*Policy, error) {
	var f File
	errs, err := config.DecodeStrictPartial(data, &f)
	if err != nil {
		return nil, err
	}
	f.ApplyDefaults()
	errs = append(errs, f.validate()...)
	p, cerrs := compile(&f, data)
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

var celEnv = mustEnv()

func mustEnv() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("tool", cel.StringType),
		cel.Variable("server", cel.StringType),
		cel.Variable("method", cel.StringType),
		cel.Variable("plane", cel.StringType),
		cel.Variable("session", cel.StringType),
		cel.Variable("environment", cel.StringType),
		cel.Variable("args", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("agent", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("findings", cel.ListType(cel.MapType(cel.StringType, cel.DynType))),
		cel.Variable("compliance", cel.ListType(cel.StringType)),
		cel.Variable("risk", cel.IntType),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
	)
	if err != nil {
		// The declarations above are static; failing here is a programming error.
		panic(fmt.Sprintf("policy: CEL environment: %v", err))
	}
	return env
}

// compileWhen compiles one when clause with the policy's cost limit.
func compileWhen(expr string, costLimit uint64) (cel.Program, []string) {
	ast, iss := celEnv.Compile(expr)
	if iss != nil && iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			msgs = append(msgs, fmt.Sprintf("line %d column %d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
		}
		return nil, msgs
	}
	if ast.OutputType() != cel.BoolType {
		return nil, []string{fmt.Sprintf("must evaluate to bool, not %s", ast.OutputType())}
	}
	// Without comprehensions (exists, all, map, filter, …) or computed regex
	// patterns a CEL expression runs in time linear in its size and its
	// input, so runtime cost tracking (which roughly doubles evaluation
	// time) is only paid by expressions that can do more.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if needsCostLimit(ast) {
		opts = append(opts, cel.CostLimit(costLimit))
	}
	prg, err := celEnv.Program(ast, opts...)
	if err != nil {
		return nil, []string{err.Error()}
	}
	return prg, nil
}

func compile(f *File, data []byte) (*Policy, []error) {
	var errs []error
	s := &f.Spec
	p := &Policy{
		name:          f.Metadata.Name,
		version:       f.Metadata.Version,
		mode:          s.Mode,
		rollout:       s.Rollout,
		anon:          Identity{ID: s.Anonymous.ID, Trust: s.Anonymous.Trust, Groups: s.Anonymous.Groups, Source: SourceAnonymous},
		anonAction:    s.Anonymous.Action,
		servers:       make(map[string]*server, len(s.Servers)),
		bands:         s.Risk.Thresholds,
		trust:         s.Risk.Trust,
		insecureMin:   *s.Risk.InsecureMin,
		envs:          s.Risk.Environments,
		defaultEnv:    *s.Risk.DefaultEnvironmentRisk,
		offHours:      *s.Risk.Temporal.DefaultRisk,
		sensTypes:     s.Risk.Sensitivity.Types,
		sensDefault:   *s.Risk.Sensitivity.DefaultTypeRisk,
		perItem:       *s.Risk.Sensitivity.PerItem,
		minConf:       *s.Risk.Sensitivity.MinConfidence,
		resultOnBlock: s.Result.OnBlock,
		behavior:      s.Behavior,
	}
	p.sourceHash = sha256.Sum256(data)
	p.declared = p.version
	if p.version == "" {
		p.version = "sha256:" + hex.EncodeToString(p.sourceHash[:6])
	} else {
		p.version += "+sha256:" + hex.EncodeToString(p.sourceHash[:4])
	}
	w := s.Risk.Weights
	p.weights = [7]int{*w.Action, *w.Agent, *w.Temporal, *w.Environmental, *w.Behavioral, *w.Compliance, *w.DataSensitivity}
	for _, v := range p.weights {
		p.wsum += v
	}
	for _, sv := range s.Servers {
		c := &server{name: sv.Name, env: sv.Environment}
		for _, t := range sv.Tools {
			c.tools = append(c.tools, tool{pattern: t.Name, exact: !strings.ContainsAny(t.Name, "*?"), risk: *t.Risk, floor: *t.Floor})
		}
		p.servers[sv.Name] = c
	}
	loc, err := time.LoadLocation(s.Risk.Temporal.Timezone)
	if err != nil {
		loc = time.UTC // reported by validate
	}
	p.loc = loc
	for _, win := range s.Risk.Temporal.Windows {
		cw := window{name: win.Name, risk: win.Risk}
		cw.start, _ = parseHHMM(win.Start)
		cw.end, _ = parseHHMM(win.End)
		for _, d := range win.Days {
			if wd, ok := validDays[strings.ToLower(d)]; ok {
				cw.days |= 1 << wd
			}
		}
		p.windows = append(p.windows, cw)
	}
	for _, k := range sortedKeys(s.Risk.Compliance) {
		c := s.Risk.Compliance[k]
		p.compliance = append(p.compliance, complianceCat{name: k, risk: c.Risk, categories: c.Categories, entityTypes: c.EntityTypes})
	}
	for i := range s.Rules {
		r := &s.Rules[i]
		cr := &rule{idx: i, name: r.Name, action: r.Action, mode: r.Mode, force: r.Force, from: r.From, to: r.To, redact: r.Redact, result: r.Result, rollout: s.Rollout}
		if r.Rollout != nil {
			cr.rollout = *r.Rollout
		}
		if strings.TrimSpace(r.When) != "" && len(r.When) <= MaxWhenLen {
			prg, msgs := compileWhen(r.When, s.CEL.CostLimit)
			for _, m := range msgs {
				errs = append(errs, fmt.Errorf("spec.rules[%d].when: rule %q: %s", i, r.Name, m))
			}
			cr.prg = prg
		}
		p.rules = append(p.rules, cr)
	}
	return p, errs
}

// needsCostLimit reports whether an expression can do super-linear work:
// a comprehension, or a regex whose pattern is not a literal.
func needsCostLimit(a *cel.Ast) bool {
	nav := celast.NavigateAST(a.NativeRep())
	return len(celast.MatchDescendants(nav, func(e celast.NavigableExpr) bool {
		switch e.Kind() {
		case celast.ComprehensionKind:
			return true
		case celast.CallKind:
			c := e.AsCall()
			args := c.Args()
			return c.FunctionName() == "matches" && len(args) > 0 && args[len(args)-1].Kind() != celast.LiteralKind
		}
		return false
	})) > 0
}

// lookup finds the tool declaration for name (exact names first, then
// globs in order).
func (s *server) lookup(name string) *tool {
	for i := range s.tools {
		if s.tools[i].exact && s.tools[i].pattern == name {
			return &s.tools[i]
		}
	}
	for i := range s.tools {
		if !s.tools[i].exact && config.Glob(s.tools[i].pattern, name) {
			return &s.tools[i]
		}
	}
	return nil
}
