package policy

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/portcullis-mcp/portcullis/config"
)

// contribution is one candidate decision (a rule, a risk band, default deny).
type contribution struct {
	action   Action
	rule     string
	mode     Mode
	enforced bool
	r        *rule // nil for bands and default deny
}

// outcome accumulates the most severe contribution.
type outcome struct {
	c   contribution
	set bool
}

func (o *outcome) offer(c contribution) {
	if !o.set || c.action.severity() > o.c.action.severity() {
		o.c, o.set = c, true
	}
}

// Evaluate decides one call or result. It never compiles CEL, never fails
// (evaluation problems fail closed and appear in Reasons) and does not retain
// in.
func (p *Policy) Evaluate(in *Input) Decision {
	d := Decision{ID: NewID(), PolicyVersion: p.version}
	agent := &in.Agent
	anonymous := isAnonymous(agent)
	if anonymous {
		agent = &p.anon
	}
	srv := p.servers[in.Server]
	var tl *tool
	if srv != nil && in.Tool != "" {
		tl = srv.lookup(in.Tool)
	}

	d.Factors = make([]Factor, 7)
	d.Score = p.score(in, agent, srv, tl, d.Factors)

	ev := evalPool.Get().(*evalCtx)
	ev.reset(p, in, agent, srv, d.Score)
	defer func() { ev.in, ev.agent = nil, nil; evalPool.Put(ev) }()

	var would, actual outcome
	var reasons []string
	consider := func(c contribution, reason string) {
		would.offer(c)
		if c.enforced {
			actual.offer(c)
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
	}
	policyEnforced := p.enforced(p.mode, p.rollout, in, agent)
	isToolCall := in.Tool != ""

	switch {
	case srv == nil:
		consider(contribution{ActionBlock, "default-deny:unknown-server", p.mode, policyEnforced, nil}, "server "+strconv.Quote(in.Server)+" is not in the policy")
	case isToolCall && tl == nil:
		consider(contribution{ActionBlock, "default-deny:unknown-tool", p.mode, policyEnforced, nil}, "tool "+strconv.Quote(in.Tool)+" is not declared for server "+strconv.Quote(in.Server))
	}
	if anonymous && p.anonAction != "" {
		consider(contribution{p.anonAction, "anonymous", p.mode, policyEnforced, nil}, "unauthenticated call: policy default for anonymous agents is "+string(p.anonAction))
	}

	// Rules. Allow rules double as permissions: once an allow rule's `to`
	// covers a call, some allow rule must match it fully. Forced allow
	// rules are overrides of the risk band and do not restrict.
	var covering *rule
	permittedWould, permittedActual := false, false
	forceWould, forceActual := false, false
	var forceRule *rule
	for _, r := range p.rules {
		if !r.to.matches(in) {
			continue
		}
		if r.action == ActionAllow && !r.force && covering == nil {
			covering = r
		}
		if !r.from.matches(agent) {
			continue
		}
		matched, why := ev.when(r)
		if !matched {
			continue
		}
		enf := p.enforced(r.mode, r.rollout, in, agent)
		if r.action == ActionAllow {
			permittedWould = true
			permittedActual = permittedActual || enf
			if r.force {
				if !forceWould {
					forceRule = r
				}
				forceWould = true
				forceActual = forceActual || enf
			}
			continue
		}
		reason := "rule " + r.name + ": " + string(r.action)
		if r.mode != ModeEnforce {
			reason += " (" + string(r.mode) + ")"
		}
		if why != "" {
			reason += "; " + why
		}
		consider(contribution{r.action, r.name, r.mode, enf, r}, reason)
	}
	if ev.argsErr != nil {
		// Arguments a rule needed but the policy cannot represent (a number
		// beyond float64, arguments that are not an object) refuse the call
		// even when no deny rule matched: the rules saw nothing, not an
		// empty map.
		consider(contribution{ActionBlock, "invalid-arguments", p.mode, policyEnforced, nil}, ev.argsErr.Error())
	}
	if covering != nil {
		enf := p.enforced(covering.mode, covering.rollout, in, agent)
		if !permittedWould {
			consider(contribution{ActionBlock, "default-deny:not-permitted", covering.mode, enf, nil}, "no allow rule permits agent "+strconv.Quote(agent.ID)+" (allow rules such as "+covering.name+" cover this call)")
		} else if !permittedActual && enf {
			// Only a non-enforced allow rule permits it: enforced denial.
			actual.offer(contribution{ActionBlock, "default-deny:not-permitted", covering.mode, true, nil})
		}
	}

	// Risk band (tool calls and results only; list is visibility only).
	if isToolCall && in.Plane != PlaneList {
		b := p.band(d.Score)
		c := contribution{b.Action, "risk:" + b.Name, p.mode, policyEnforced, nil}
		if !forceWould {
			would.offer(c)
			reasons = append(reasons, "risk "+strconv.Itoa(d.Score)+" in band "+b.Name+" → "+string(b.Action))
		}
		if !forceActual && c.enforced {
			actual.offer(c)
		}
	}

	if !would.set && forceRule != nil {
		would.offer(contribution{ActionAllow, forceRule.name, forceRule.mode, true, forceRule})
		reasons = append(reasons, "rule "+forceRule.name+": allow (forced over risk "+strconv.Itoa(d.Score)+")")
	}
	if !would.set {
		would.offer(contribution{ActionAllow, "default-allow", p.mode, true, nil})
	}
	if !actual.set {
		actual.offer(contribution{ActionAllow, "default-allow", p.mode, true, nil})
	}
	// The enforced action can never be more severe than the would-be one.
	if actual.c.action.severity() > would.c.action.severity() {
		actual = would
	}
	d.Action = actual.c.action
	d.WouldAction = would.c.action
	d.Rule = would.c.rule
	d.Mode = would.c.mode
	if d.WouldAction == ActionAllow && d.Rule == "default-allow" {
		d.Mode = p.mode
	}
	d.Enforced = d.Action == d.WouldAction
	d.Reasons = reasons
	if r := would.c.r; r != nil && r.action == ActionRedact {
		d.Redact, d.RedactTypes = r.redact.Style, r.redact.Types
	}
	if in.Plane == PlaneResult && d.WouldAction == ActionBlock {
		d.ResultMode = p.resultOnBlock
		if r := would.c.r; r != nil && r.result != "" {
			d.ResultMode = r.result
		}
	}
	return d
}

func isAnonymous(a *Identity) bool {
	return a.ID == "" || a.Source == "" || a.Source == SourceAnonymous
}

// enforced reports whether a component in mode m is enforced for this call.
func (p *Policy) enforced(m Mode, ro Rollout, in *Input, agent *Identity) bool {
	switch m {
	case ModeEnforce:
		return true
	case ModeStaged:
		key := agent.ID
		if ro.By == "session" {
			key = in.Session
		}
		return StageBucket(p.name, key) < ro.Percent
	}
	return false
}

// StageBucket is the deterministic 0-99 bucket of key for staged rollout.
func StageBucket(policyName, key string) int {
	h := fnv.New32a()
	h.Write([]byte(policyName))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return int(h.Sum32() % 100)
}

func (p *Policy) band(score int) Band {
	for _, b := range p.bands {
		if score >= b.Min && score <= b.Max {
			return b
		}
	}
	return p.bands[len(p.bands)-1]
}

func globAny(patterns []string, s string) bool {
	for _, g := range patterns {
		if config.Glob(g, s) {
			return true
		}
	}
	return false
}

func intersects(want, have []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func (s *Source) matches(a *Identity) bool {
	if len(s.Agents) > 0 && !globAny(s.Agents, a.ID) {
		return false
	}
	if len(s.Principals) > 0 && (a.Source != SourceJWT && a.Source != SourceSPIFFE || !globAny(s.Principals, a.ID)) {
		return false
	}
	if len(s.NotAgents) > 0 && globAny(s.NotAgents, a.ID) {
		return false
	}
	if len(s.Groups) > 0 && !intersects(s.Groups, a.Groups) {
		return false
	}
	if len(s.Roles) > 0 && !intersects(s.Roles, a.Roles) {
		return false
	}
	if len(s.Trust) > 0 && !slices.Contains(s.Trust, a.Trust) {
		return false
	}
	if len(s.Sources) > 0 && !slices.Contains(s.Sources, a.Source) {
		return false
	}
	return true
}

func (o *Operation) matches(in *Input) bool {
	if len(o.Planes) > 0 && !slices.Contains(o.Planes, in.Plane) {
		return false
	}
	if len(o.Methods) > 0 && !slices.Contains(o.Methods, in.Method) {
		return false
	}
	if len(o.Servers) > 0 && !globAny(o.Servers, in.Server) {
		return false
	}
	if len(o.Tools) > 0 && !globAny(o.Tools, in.Tool) {
		return false
	}
	return true
}

// ToolVisible reports whether tools/list should show server's tool to agent:
// the server and tool are declared, no unconditional deny rule (no `when`)
// applies to the agent, and, if allow rules cover the tool, one of them
// names the agent. Conditional rules are left to call time.
func (p *Policy) ToolVisible(agent Identity, server, toolName string) bool {
	a := &agent
	if isAnonymous(a) {
		a = &p.anon
		if p.anonAction == ActionBlock {
			return false
		}
	}
	srv := p.servers[server]
	if srv == nil || srv.lookup(toolName) == nil {
		return false
	}
	probe := Input{Server: server, Tool: toolName}
	covered, permitted := false, false
	for _, r := range p.rules {
		if len(r.to.Planes) > 0 && !slices.Contains(r.to.Planes, PlaneRequest) && !slices.Contains(r.to.Planes, PlaneList) {
			continue
		}
		if len(r.to.Methods) > 0 && !slices.Contains(r.to.Methods, "tools/call") && !slices.Contains(r.to.Methods, "tools/list") {
			continue
		}
		if (len(r.to.Servers) > 0 && !globAny(r.to.Servers, probe.Server)) || (len(r.to.Tools) > 0 && !globAny(r.to.Tools, probe.Tool)) {
			continue
		}
		switch r.action {
		case ActionAllow:
			// Only enforced, non-force allow rules restrict visibility;
			// any allow rule naming the agent (conditions aside) permits it.
			if r.mode == ModeEnforce && !r.force {
				covered = true
			}
			if r.from.matches(a) {
				permitted = true
			}
		case ActionBlock:
			if r.prg == nil && r.mode == ModeEnforce && r.from.matches(a) {
				return false
			}
		}
	}
	return !covered || permitted
}

// NewID returns a unique decision id: 48-bit millisecond time then 80
// random bits, as 32 hex characters (sortable by time, like a ULID).
func NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// evalCtx is the lazy CEL activation for one Evaluate call: args and the
// agent/findings maps are built only if an expression reads them.
type evalCtx struct {
	p     *Policy
	in    *Input
	agent *Identity
	env   string
	risk  int

	// Boxed scalars, converted once per Evaluate however many rules read them.
	strs  [6]any
	riskV any

	args       any
	argsDone   bool
	argsErr    error // arguments a rule read could not be represented
	agentMap   map[string]any
	findings   []any
	compliance []string
	complDone  bool
}

var evalPool = sync.Pool{New: func() any { return new(evalCtx) }}

var _ interpreter.Activation = (*evalCtx)(nil)

func (e *evalCtx) reset(p *Policy, in *Input, agent *Identity, srv *server, risk int) {
	*e = evalCtx{p: p, in: in, agent: agent, risk: risk}
	e.env = in.Environment
	if e.env == "" && srv != nil {
		e.env = srv.env
	}
}

// ResolveName implements interpreter.Activation.
func (e *evalCtx) ResolveName(name string) (any, bool) {
	switch name {
	case "tool":
		return e.boxed(0, e.in.Tool), true
	case "server":
		return e.boxed(1, e.in.Server), true
	case "method":
		return e.boxed(2, e.in.Method), true
	case "plane":
		return e.boxed(3, string(e.in.Plane)), true
	case "session":
		return e.boxed(4, e.in.Session), true
	case "environment":
		return e.boxed(5, e.env), true
	case "risk":
		if e.riskV == nil {
			e.riskV = types.Int(e.risk)
		}
		return e.riskV, true
	case "args":
		if !e.argsDone {
			e.argsDone = true
			var m map[string]any
			var err error
			if e.in.ParsedArgs != nil {
				m, err = parsedArgs(e.in.ParsedArgs)
			} else {
				m, err = decodeArgs(e.in.Args)
			}
			if err != nil {
				e.argsErr = err
				e.args = types.NewErr("%s", err.Error())
			} else {
				e.args = m
			}
		}
		return e.args, true
	case "agent":
		if e.agentMap == nil {
			a := e.agent
			e.agentMap = map[string]any{
				"id": a.ID, "groups": nonNil(a.Groups), "roles": nonNil(a.Roles),
				"trust": a.Trust, "source": a.Source, "insecure": a.Insecure,
				"client_id": a.ClientID, "actor": nonNil(a.Actor),
			}
		}
		return e.agentMap, true
	case "findings":
		if e.findings == nil {
			e.findings = make([]any, 0, len(e.in.Findings))
			for _, f := range e.in.Findings {
				e.findings = append(e.findings, map[string]any{
					"detector": f.Detector, "category": f.Category, "entity_type": f.EntityType,
					"confidence": f.Confidence, "count": int64(max(f.Count, 1)),
				})
			}
		}
		return e.findings, true
	case "compliance":
		if !e.complDone {
			e.complDone = true
			e.compliance = e.p.complianceHits(e.in.Findings, nil)
			if e.compliance == nil {
				e.compliance = []string{}
			}
		}
		return e.compliance, true
	}
	return nil, false
}

// decodeArgs turns the raw arguments into the map CEL sees. Absent
// arguments are an empty map; anything CEL cannot represent faithfully is an
// error, never an empty map (an empty map would make has(args.x) guards
// false and deny rules silently not match): a number outside the float64
// range, an integer that float64 would round (beyond 2^53 and not exactly
// representable: the policy would check a different number than the server
// reads), arguments that are not an object.
func decodeArgs(raw []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}
	if !hasDigitRun(raw, 16) {
		// No literal long enough to be an integer float64 rounds: the
		// plain decoder is exact here and cheaper.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			var ute *json.UnmarshalTypeError
			if errors.As(err, &ute) && strings.HasPrefix(ute.Value, "number") {
				return nil, fmt.Errorf("arguments cannot be represented by the policy: %s is outside the range of a 64-bit float", truncateNum(ute.Value))
			}
			return nil, fmt.Errorf("arguments cannot be represented by the policy: %w", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("arguments cannot be represented by the policy: arguments must be a JSON object, got %s", jsonKind(v))
		}
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("arguments cannot be represented by the policy: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("arguments cannot be represented by the policy: arguments must be a JSON object, got %s", jsonKind(v))
	}
	if err := numbersToFloat(m); err != nil {
		return nil, fmt.Errorf("arguments cannot be represented by the policy: %w", err)
	}
	return m, nil
}

// parsedArgs is decodeArgs for arguments the caller decoded (Input.ParsedArgs).
func parsedArgs(decode func() (any, error)) (map[string]any, error) {
	v, err := decode()
	if err != nil {
		return nil, fmt.Errorf("arguments cannot be represented by the policy: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("arguments cannot be represented by the policy: arguments must be a JSON object, got %s", jsonKind(v))
	}
	return m, nil
}

// hasDigitRun reports whether b holds n or more consecutive ASCII digits.
func hasDigitRun(b []byte, n int) bool {
	run := 0
	for _, c := range b {
		if c >= '0' && c <= '9' {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	case json.Number, float64:
		return "number"
	}
	return "object"
}

// ArgNumber is the float64 CEL sees for a number literal of the arguments,
// or the error that makes them unrepresentable: outside the float64 range,
// or an integer float64 would round (beyond 2^53 and not exactly
// representable). Callers that decode arguments themselves (ParsedArgs)
// use it for every number.
func ArgNumber(lit []byte) (float64, error) {
	s := string(lit)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("number %s is outside the range of a 64-bit float", truncateNum(s))
	}
	if !strings.ContainsAny(s, ".eE") && (f >= 1<<53 || f <= -(1<<53)) {
		// An integer literal: it must survive the round trip exactly.
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil || f >= 1<<63 || int64(f) != i {
			return 0, fmt.Errorf("integer %s cannot be represented exactly (beyond 2^53); send it as a string", truncateNum(s))
		}
	}
	return f, nil
}

// numbersToFloat replaces every json.Number in v (in place) by its float64,
// refusing numbers float64 cannot hold faithfully.
func numbersToFloat(v any) error {
	conv := func(n json.Number) (float64, error) { return ArgNumber([]byte(n)) }
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if n, ok := c.(json.Number); ok {
				f, err := conv(n)
				if err != nil {
					return err
				}
				x[k] = f
				continue
			}
			if err := numbersToFloat(c); err != nil {
				return err
			}
		}
	case []any:
		for i, c := range x {
			if n, ok := c.(json.Number); ok {
				f, err := conv(n)
				if err != nil {
					return err
				}
				x[i] = f
				continue
			}
			if err := numbersToFloat(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func truncateNum(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}

func (e *evalCtx) boxed(i int, s string) any {
	if e.strs[i] == nil {
		e.strs[i] = types.String(s)
	}
	return e.strs[i]
}

// Parent implements interpreter.Activation.
func (e *evalCtx) Parent() interpreter.Activation { return nil }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// when evaluates r's condition. Errors (missing keys, cost limit) fail
// closed: a deny-type rule matches, an allow rule does not.
func (e *evalCtx) when(r *rule) (bool, string) {
	if r.prg == nil {
		return true, ""
	}
	out, _, err := r.prg.Eval(e)
	if err != nil {
		if r.action == ActionAllow {
			return false, ""
		}
		return true, "condition error (fail closed): " + err.Error()
	}
	return out == types.True, ""
}
