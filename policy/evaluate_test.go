package policy

import (
	"strings"
	"sync"
	"testing"
	"time"
)

const evalPolicy = `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: eval, version: v1}
spec:
  rollout: {percent: 50, by: session}
  anonymous: {action: block}
  servers:
    - name: fs
      environment: dev
      tools:
        - {name: read, risk: 10}
        - {name: write, risk: 60, floor: 20}
        - {name: "admin_*", risk: 95}
    - name: db
      environment: production
      tools: [{name: query, risk: 40}]
  rules:
    - name: deny-missing-key
      action: deny
      to: {tools: [write]}
      when: 'args.path.startsWith("/etc")'
    - name: sandbox-admin
      action: sandbox
      to: {tools: ["admin_*"]}
    - name: dry-block-admin
      action: deny
      mode: dry-run
      to: {tools: ["admin_*"]}
    - name: staged-approve-query
      action: require_approval
      mode: staged
      to: {servers: [db]}
    - name: cost
      action: deny
      to: {tools: [read]}
      when: 'args.xs.all(x, args.xs.all(y, x == y || x != y)) && false'
    - name: allow-with-error
      action: allow
      to: {servers: [db]}
      when: 'args.nope == 1'
  cel: {cost_limit: 500}
  risk:
    weights: {action: 1, agent: 0, temporal: 0, environmental: 0, behavioral: 0, compliance: 0, data_sensitivity: 0}
    thresholds:
      - {min: 0, max: 100, action: allow}
    temporal:
      timezone: Europe/Berlin
      windows:
        - {name: office, days: [mon, tue, wed, thu, fri], start: "08:00", end: "18:00", risk: 0}
        - {name: night-shift, start: "22:00", end: "02:00", risk: 30}
      default_risk: 90
`

func mustParse(t testing.TB, s string) *Policy {
	t.Helper()
	p, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var alice = Identity{ID: "alice", Trust: "high", Source: SourceJWT}

func TestEvaluateDecisions(t *testing.T) {
	p := mustParse(t, evalPolicy)
	tue := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		in         Input
		action     Action
		would      Action
		rule       string
		mode       Mode
		reasonPart string
	}{
		{"plain read", Input{Server: "fs", Tool: "read", Args: []byte(`{}`)}, ActionAllow, ActionAllow, "risk:0-100", ModeEnforce, ""},
		{"missing arg fails closed on a deny rule", Input{Server: "fs", Tool: "write", Args: []byte(`{"other":1}`)}, ActionBlock, ActionBlock, "deny-missing-key", ModeEnforce, "fail closed"},
		{"non-object args fail closed", Input{Server: "fs", Tool: "write", Args: []byte(`[1,2]`)}, ActionBlock, ActionBlock, "deny-missing-key", ModeEnforce, "must be a JSON object, got array"},
		{"matching arg denies", Input{Server: "fs", Tool: "write", Args: []byte(`{"path":"/etc/passwd"}`)}, ActionBlock, ActionBlock, "deny-missing-key", ModeEnforce, ""},
		{"safe arg allowed", Input{Server: "fs", Tool: "write", Args: []byte(`{"path":"/tmp/x"}`)}, ActionAllow, ActionAllow, "risk:0-100", ModeEnforce, ""},
		{"enforced sandbox, dry-run block", Input{Server: "fs", Tool: "admin_reset"}, ActionSandbox, ActionBlock, "dry-block-admin", ModeDryRun, "(dry-run)"},
		{"cost limit fails closed", Input{Server: "fs", Tool: "read", Args: []byte(`{"xs":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30]}`)}, ActionBlock, ActionBlock, "cost", ModeEnforce, "cost limit"},
		{"allow rule error means not permitted", Input{Server: "db", Tool: "query", Session: "s-in"}, ActionBlock, ActionBlock, "default-deny:not-permitted", ModeEnforce, "no allow rule permits"},
		{"anonymous blocked by policy default", Input{Server: "fs", Tool: "read", Agent: Identity{}}, ActionBlock, ActionBlock, "anonymous", ModeEnforce, "unauthenticated"},
		{"unknown server", Input{Server: "nope", Tool: "read"}, ActionBlock, ActionBlock, "default-deny:unknown-server", ModeEnforce, ""},
		{"unknown tool", Input{Server: "fs", Tool: "rm"}, ActionBlock, ActionBlock, "default-deny:unknown-tool", ModeEnforce, ""},
		{"non-tool method on a known server", Input{Server: "fs", Method: "initialize"}, ActionAllow, ActionAllow, "default-allow", ModeEnforce, ""},
		{"non-tool method on an unknown server", Input{Server: "zz", Method: "initialize"}, ActionBlock, ActionBlock, "default-deny:unknown-server", ModeEnforce, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.Agent.ID == "" && tt.rule != "anonymous" {
				in.Agent = alice
			}
			if in.Method == "" {
				in.Method = "tools/call"
			}
			if in.Plane == "" {
				in.Plane = PlaneRequest
			}
			in.Now = tue
			d := p.Evaluate(&in)
			if d.Action != tt.action || d.WouldAction != tt.would || d.Rule != tt.rule || d.Mode != tt.mode {
				t.Fatalf("got action=%s would=%s rule=%s mode=%s reasons=%q", d.Action, d.WouldAction, d.Rule, d.Mode, d.Reasons)
			}
			if d.Enforced != (d.Action == d.WouldAction) {
				t.Fatalf("enforced %v inconsistent", d.Enforced)
			}
			if tt.reasonPart != "" && !strings.Contains(strings.Join(d.Reasons, "|"), tt.reasonPart) {
				t.Fatalf("reasons %q lack %q", d.Reasons, tt.reasonPart)
			}
			if !isVersion(d.PolicyVersion, "v1") || len(d.ID) != 32 || len(d.Factors) != 7 {
				t.Fatalf("decision metadata %+v", d)
			}
		})
	}
}

// Issue 11 #10: a number outside float64 range anywhere in the arguments
// used to give CEL an empty args map, so has(args.path) guards were false and
// deny rules never matched. Arguments the policy cannot represent refuse the
// call.
const guardPolicy = `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: guard, version: v1}
spec:
  servers:
    - name: fs
      tools: [{name: read_file, risk: 10}, {name: list, risk: 10}]
  rules:
    - name: no-etc
      action: deny
      to: {tools: [read_file]}
      when: 'has(args.path) && args.path.startsWith("/etc")'
    - name: allow-small-list
      action: allow
      to: {tools: [list]}
      when: '!has(args.limit) || args.limit < 100'
  risk:
    thresholds:
      - {min: 0, max: 100, action: allow}
`

func TestEvaluateUnrepresentableArgs(t *testing.T) {
	p := mustParse(t, guardPolicy)
	tests := []struct {
		name   string
		tool   string
		args   string
		action Action
		reason string // substring of the joined reasons
	}{
		{"deny rule matches", "read_file", `{"path":"/etc/shadow"}`, ActionBlock, "rule no-etc"},
		{"safe path allowed", "read_file", `{"path":"/tmp/x"}`, ActionAllow, ""},
		{"no arguments", "read_file", ``, ActionAllow, ""},
		{"huge number beside the path", "read_file", `{"path":"/etc/shadow","x":1e400}`, ActionBlock, "outside the range of a 64-bit float"},
		{"huge number nested", "read_file", `{"path":"/etc/shadow","o":{"a":[1,-1e999]}}`, ActionBlock, "outside the range"},
		{"huge number with a harmless path still refused", "read_file", `{"path":"/tmp/x","x":1e400}`, ActionBlock, "number 1e400 is outside the range"},
		{"arguments not an object", "read_file", `"/etc/shadow"`, ActionBlock, "must be a JSON object, got string"},
		{"arguments null", "read_file", `null`, ActionBlock, "got null"},
		{"allow rule cannot be satisfied by an unreadable limit", "list", `{"limit":1e400}`, ActionBlock, "outside the range"},
		{"allow rule satisfied", "list", `{"limit":5}`, ActionAllow, ""},
		{"tiny number is zero, representable", "read_file", `{"path":"/tmp/x","x":1e-400}`, ActionAllow, ""},
		{"integer float64 would round", "list", `{"limit":5,"account":9007199254740993}`, ActionBlock, "cannot be represented exactly"},
		{"integer beyond int64", "list", `{"limit":5,"account":99999999999999999999}`, ActionBlock, "cannot be represented exactly"},
		{"large integer that is exact", "list", `{"limit":5,"account":9007199254740992}`, ActionAllow, ""},
		{"negative large exact integer", "list", `{"limit":5,"account":-1152921504606846976}`, ActionAllow, ""},
		{"decimal fraction is a float", "list", `{"limit":5.5,"ratio":0.1}`, ActionAllow, ""},
		{"huge number beside a long digit run (exact decoder)", "read_file", `{"path":"/tmp/x","ref":"12345678901234567890","x":1e400}`, ActionBlock, "outside the range"},
		{"long digit run in a string is fine", "read_file", `{"path":"/tmp/x","ref":"12345678901234567890"}`, ActionAllow, ""},
		{"numbers in nested arrays", "read_file", `{"path":"/tmp/x","xs":[[1,2],[3,1e999]]}`, ActionBlock, "outside the range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "fs", Tool: tt.tool, Args: []byte(tt.args), Agent: alice})
			reasons := strings.Join(d.Reasons, "|") + "|rule " + d.Rule
			if d.Action != tt.action {
				t.Fatalf("action %s, want %s (rule %s, reasons %q)", d.Action, tt.action, d.Rule, d.Reasons)
			}
			if tt.reason != "" && !strings.Contains(reasons, tt.reason) {
				t.Fatalf("reasons %q lack %q", reasons, tt.reason)
			}
		})
	}
}

func TestStagedBySession(t *testing.T) {
	p := mustParse(t, strings.Replace(evalPolicy, "      when: 'args.nope == 1'\n", "", 1))
	var in, out int
	for i := range 200 {
		s := "session-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		d := p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "db", Tool: "query", Agent: alice, Session: s})
		if d.WouldAction != ActionRequireApproval || d.Mode != ModeStaged {
			t.Fatalf("%s: %+v", s, d)
		}
		wantIn := StageBucket("eval", s) < 50
		if wantIn != (d.Action == ActionRequireApproval) {
			t.Fatalf("%s: bucket %d, action %s", s, StageBucket("eval", s), d.Action)
		}
		// Deterministic: the same session always lands the same way.
		if d2 := p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "db", Tool: "query", Agent: alice, Session: s}); d2.Action != d.Action {
			t.Fatal("staged decision not deterministic")
		}
		if wantIn {
			in++
		} else {
			out++
		}
	}
	if in < 60 || out < 60 {
		t.Fatalf("50%% rollout split %d/%d", in, out)
	}
}

func TestFactors(t *testing.T) {
	p := mustParse(t, evalPolicy)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	yes, no := true, false
	tests := []struct {
		name   string
		in     Input
		factor int // index into FactorNames
		want   int
	}{
		{"declared risk", Input{Tool: "write"}, 0, 60},
		{"annotations raise", Input{Tool: "read", Annotations: &ToolAnnotations{}}, 0, 90},
		{"read-only lowers to floor only", Input{Tool: "write", Annotations: &ToolAnnotations{ReadOnlyHint: &yes}}, 0, 20},
		{"read-only cannot lower below default floor", Input{Tool: "admin_x", Annotations: &ToolAnnotations{ReadOnlyHint: &yes}}, 0, 95},
		{"non-destructive closed world idempotent", Input{Tool: "write", Annotations: &ToolAnnotations{DestructiveHint: &no, OpenWorldHint: &no, IdempotentHint: &yes}}, 0, 35},
		{"trust high", Input{Tool: "read"}, 1, 10},
		{"unknown trust is untrusted", Input{Tool: "read", Agent: Identity{ID: "x", Trust: "root", Source: SourceJWT}}, 1, 90},
		{"insecure identity has a minimum", Input{Tool: "read", Agent: Identity{ID: "x", Trust: "high", Source: SourceHeader, Insecure: true}}, 1, 50},
		{"office hours in Berlin (07:30 UTC = 08:30 CET)", Input{Tool: "read", Now: time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)}, 2, 0},
		{"before office hours in Berlin (06:30 UTC)", Input{Tool: "read", Now: time.Date(2026, 11, 24, 6, 30, 0, 0, time.UTC)}, 2, 90},
		{"night shift wraps midnight", Input{Tool: "read", Now: time.Date(2026, 11, 25, 1, 0, 0, 0, berlin)}, 2, 30},
		{"weekend is off-hours", Input{Tool: "read", Now: time.Date(2026, 11, 28, 11, 0, 0, 0, berlin)}, 2, 90},
		{"environment from server", Input{Server: "db", Tool: "query"}, 3, 80},
		{"environment override", Input{Tool: "read", Environment: "staging"}, 3, 40},
		{"behaviour clamped", Input{Tool: "read", Behavior: &BehaviorSignal{Score: 250}}, 4, 100},
		{"compliance takes the highest category", Input{Tool: "read", Findings: []Finding{{Category: "pii", EntityType: "email", Confidence: 1}, {Category: "pci", EntityType: "credit_card", Confidence: 1}}}, 5, 100},
		{"compliance ignores low confidence", Input{Tool: "read", Findings: []Finding{{Category: "pci", Confidence: 0.1}}}, 5, 0},
		{"sensitivity by type", Input{Tool: "read", Findings: []Finding{{EntityType: "email", Confidence: 1, Count: 1}}}, 6, 30},
		{"sensitivity by volume", Input{Tool: "read", Findings: []Finding{{EntityType: "email", Confidence: 1, Count: 5}}}, 6, 50},
		{"sensitivity capped", Input{Tool: "read", Findings: []Finding{{EntityType: "us_ssn", Confidence: 1, Count: 40}}}, 6, 100},
		{"unknown type uses default", Input{Tool: "read", Findings: []Finding{{EntityType: "shoe_size", Confidence: 1}}}, 6, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.Server == "" {
				in.Server = "fs"
			}
			if in.Agent.ID == "" {
				in.Agent = alice
			}
			if in.Now.IsZero() {
				in.Now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			}
			in.Plane, in.Method = PlaneRequest, "tools/call"
			d := p.Evaluate(&in)
			f := d.Factors[tt.factor]
			if f.Name != FactorNames[tt.factor] || f.Value != tt.want || f.Reason == "" {
				t.Fatalf("factor %+v, want %s=%d", f, FactorNames[tt.factor], tt.want)
			}
		})
	}
}

func TestScoreIsWeightedMean(t *testing.T) {
	p := mustParse(t, strings.Replace(evalPolicy,
		"weights: {action: 1, agent: 0, temporal: 0, environmental: 0, behavioral: 0, compliance: 0, data_sensitivity: 0}",
		"weights: {action: 1, agent: 1, temporal: 0, environmental: 2, behavioral: 0, compliance: 0, data_sensitivity: 0}", 1))
	d := p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "db", Tool: "query", Agent: alice, Now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)})
	// (40*1 + 10*1 + 80*2) / 4 = 52.5 → 53
	if d.Score != 53 {
		t.Fatalf("score %d, want 53 (%+v)", d.Score, d.Factors)
	}
}

func TestResultPlaneAndRedact(t *testing.T) {
	p := mustParse(t, minimal+`  result: {on_block: notice}
  rules:
    - {name: inj, action: deny, to: {planes: [result]}, when: 'findings.exists(f, f.category == "prompt_injection")'}
    - {name: inj-hard, action: deny, result: block, to: {planes: [result]}, when: 'findings.exists(f, f.confidence > 0.99)'}
    - {name: pii, action: redact, redact: {style: hash, types: [email]}, when: '"gdpr" in compliance'}
`)
	base := Input{Plane: PlaneResult, Method: "tools/call", Server: "fs", Tool: "read", Agent: alice}
	in := base
	in.Findings = []Finding{{Category: "prompt_injection", Confidence: 0.9}}
	if d := p.Evaluate(&in); d.Action != ActionBlock || d.ResultMode != ResultNotice || d.Rule != "inj" {
		t.Fatalf("%+v", d)
	}
	in.Findings = []Finding{{Category: "prompt_injection", Confidence: 1}}
	if d := p.Evaluate(&in); d.ResultMode != ResultBlock && d.Rule != "inj" {
		t.Fatalf("%+v", d)
	}
	in = base
	in.Plane = PlaneRequest
	in.Findings = []Finding{{Category: "pii", EntityType: "email", Confidence: 0.9}}
	d := p.Evaluate(&in)
	if d.Action != ActionRedact || d.Redact != "hash" || len(d.RedactTypes) != 1 || d.ResultMode != "" {
		t.Fatalf("%+v", d)
	}
}

func TestToolVisible(t *testing.T) {
	p := mustParse(t, minimal+`  rules:
    - {name: readers, action: allow, from: {groups: [readers]}, to: {tools: [read]}}
    - {name: no-bob, action: deny, from: {agents: [bob]}}
    - {name: cond, action: deny, from: {agents: [carol]}, when: 'args.x == 1'}
    - {name: trial, action: allow, mode: dry-run, from: {agents: [nobody]}}
`)
	tests := []struct {
		agent Identity
		tool  string
		want  bool
	}{
		{Identity{ID: "a", Groups: []string{"readers"}, Source: SourceJWT, Trust: "high"}, "read", true},
		{Identity{ID: "a", Groups: []string{"writers"}, Source: SourceJWT, Trust: "high"}, "read", false},
		{Identity{ID: "bob", Groups: []string{"readers"}, Source: SourceJWT, Trust: "high"}, "read", false},
		{Identity{ID: "carol", Groups: []string{"readers"}, Source: SourceJWT, Trust: "high"}, "read", true},
		{Identity{ID: "a", Groups: []string{"readers"}, Source: SourceJWT, Trust: "high"}, "undeclared", false},
		{Identity{}, "read", false},
	}
	for _, tt := range tests {
		if got := p.ToolVisible(tt.agent, "fs", tt.tool); got != tt.want {
			t.Errorf("ToolVisible(%+v, %s) = %v, want %v", tt.agent, tt.tool, got, tt.want)
		}
	}
	if p.ToolVisible(tests[0].agent, "other", "read") {
		t.Error("unknown server visible")
	}
}

func TestDecisionIDsUniqueAndConcurrent(t *testing.T) {
	p := mustParse(t, evalPolicy)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				args := []byte(`{"path":"/tmp/x"}`)
				if i%2 == 0 {
					args = []byte(`{"path":"/etc/x"}`)
				}
				d := p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "fs", Tool: "write", Args: args, Agent: alice, Session: string(rune('a' + g))})
				want := ActionAllow
				if i%2 == 0 {
					want = ActionBlock
				}
				if d.Action != want {
					t.Errorf("got %s want %s", d.Action, want)
					return
				}
				mu.Lock()
				if seen[d.ID] {
					t.Errorf("duplicate id %s", d.ID)
				}
				seen[d.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
