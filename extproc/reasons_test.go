package extproc

import (
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/policy"
)

// Refusal messages never contradict the decision (issue 13: "rule X: block;
// risk 13 in band low → allow").
func TestReasonsAgreeWithDecision(t *testing.T) {
	for _, tc := range []struct {
		name      string
		d         policy.Decision
		want, not []string
	}{
		{"rule blocks, band allowed", policy.Decision{WouldAction: policy.ActionBlock, Rule: "no-secrets",
			Reasons: []string{"risk 13 in band low → allow", "rule no-secrets: block; secret in args"}},
			[]string{"rule no-secrets: block"}, []string{"→ allow"}},
		{"behaviour forces, band allowed", policy.Decision{WouldAction: policy.ActionBlock, Rule: "sequence:sensitive-then-egress",
			Reasons: []string{"toxic flow sensitive-then-egress: after pii", "risk 98 in band low → allow"}},
			[]string{"toxic flow"}, []string{"→ allow"}},
		{"band decides", policy.Decision{WouldAction: policy.ActionRequireApproval, Rule: "risk:medium",
			Reasons: []string{"rule dry: block (dry-run)", "risk 60 in band medium → require_approval"},
			Factors: []policy.Factor{{Name: "agent", Value: 90, Weight: 20, Reason: "untrusted agent"}}},
			[]string{"band medium → require_approval", "agent 90: untrusted agent"}, []string{"rule dry: block"}},
		{"no reasons", policy.Decision{WouldAction: policy.ActionBlock, Rule: "builtin:secret"}, []string{"rule builtin:secret"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reasons(tc.d)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%q contradicts the decision with %q", got, n)
				}
			}
		})
	}
}
