package policytest

import (
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/policy"
)

// TestExampleSuite runs the committed example suite: every case must pass
// and together they must cover every action, mode, factor and both
// visibility outcomes.
func TestExampleSuite(t *testing.T) {
	p, err := policy.Load("../../examples/policies/policy.yaml")
	if err != nil {
		t.Fatalf("example policy: %v", err)
	}
	s, err := Load("../../examples/policies/cases.yaml")
	if err != nil {
		t.Fatalf("example cases: %v", err)
	}
	results := Run(p, s)
	if len(results) != len(s.Cases) {
		t.Fatalf("got %d results for %d cases", len(results), len(s.Cases))
	}
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			if !r.Pass {
				t.Errorf("%s\n  decision: action=%s would=%s rule=%s mode=%s score=%d reasons=%v factors=%+v",
					strings.Join(r.Failures, "\n"), r.Decision.Action, r.Decision.WouldAction, r.Decision.Rule, r.Decision.Mode, r.Decision.Score, r.Decision.Reasons, r.Decision.Factors)
			}
		})
	}
	if missing := Coverage(results); len(missing) > 0 {
		t.Errorf("suite does not cover: %v", missing)
	}
}
