package policy

import (
	"encoding/json"
	"testing"
	"time"
)

var sink Decision

func benchInput() *Input {
	yes := true
	return &Input{
		Plane: PlaneRequest, Method: "tools/call", Server: "database", Tool: "execute_sql",
		Args:        []byte(`{"query":"SELECT id, email FROM orders WHERE id = 42","limit":10}`),
		Agent:       Identity{ID: "agent-7", Groups: []string{"eng", "data-team"}, Roles: []string{"reader"}, Trust: "medium", Source: SourceJWT},
		Session:     "sess-123",
		Findings:    []Finding{{Detector: "pii", Category: "pii", EntityType: "email", Confidence: 0.8, Count: 2}},
		Annotations: &ToolAnnotations{ReadOnlyHint: &yes},
		Behavior:    &BehaviorSignal{Score: 20, Reason: "normal"},
		Now:         time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
	}
}

// TestBenchPolicyShape pins what the benchmark measures: all ten rules
// apply to the call and every factor is non-zero.
func TestBenchPolicyShape(t *testing.T) {
	p, err := Load("testdata/bench.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.rules) != 10 {
		t.Fatalf("%d rules", len(p.rules))
	}
	in := benchInput()
	in.Now = time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)
	d := p.Evaluate(in)
	for _, f := range d.Factors {
		if f.Value == 0 {
			t.Errorf("factor %s is zero: %s", f.Name, f.Reason)
		}
	}
	if d.Action != ActionAllow && d.Action != ActionRequireApproval {
		t.Fatalf("unexpected %+v", d)
	}
}

// BenchmarkEvaluate compares the full engine (10 rules, all factors) with
// two baselines measured in the same run: a function that allows
// everything, and a policy with no rules.
func BenchmarkEvaluate(b *testing.B) {
	full, err := Load("testdata/bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	empty, err := Parse([]byte(`apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: empty}
spec:
  servers: [{name: database, tools: [{name: "*"}]}]
  risk: {thresholds: [{min: 0, max: 100, action: allow}]}
`))
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	b.Run("baseline-allow-all-func", func(b *testing.B) {
		allow := func(*Input) Decision { return Decision{ID: NewID(), Action: ActionAllow} }
		b.ReportAllocs()
		for b.Loop() {
			sink = allow(in)
		}
	})
	b.Run("baseline-policy-no-rules", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = empty.Evaluate(in)
		}
	})
	b.Run("10-rules-all-factors", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = full.Evaluate(in)
		}
	})
	b.Run("10-rules-all-factors-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				d := full.Evaluate(in)
				_ = d
			}
		})
	})
}

// BenchmarkDecodeArgs is the cost of building CEL's args map with the
// representability checks, beside the former plain json.Unmarshal (which
// turned unrepresentable arguments into an empty map) in the same run.
func BenchmarkDecodeArgs(b *testing.B) {
	raw := []byte(`{"query":"SELECT id, email FROM orders WHERE id = 42","limit":10,"path":"/workspace/a/b.txt","opts":{"n":[1,2,3],"x":1.5}}`)
	b.Run("baseline-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
		}
	})
	b.Run("decodeArgs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeArgs(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
