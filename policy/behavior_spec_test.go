package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

func TestBehaviorSection(t *testing.T) {
	const base = "apiVersion: portcullis.dev/v1\nkind: ToolPolicy\nmetadata: {name: t}\nspec:\n  servers: [{name: fs, tools: [{name: read}]}]\n"
	tests := []struct {
		name    string
		yaml    string
		present bool
		check   func(t *testing.T, c behavior.Config)
		errs    []string
	}{
		{name: "absent", yaml: base},
		{name: "defaults", yaml: base + "  behavior: {}\n", present: true, check: func(t *testing.T, c behavior.Config) {
			if c.Window != time.Minute || c.Pinning.Mode != behavior.PinBlock || len(c.SensitiveCategories) == 0 {
				t.Errorf("defaults not applied: %+v", c)
			}
		}},
		{name: "set", yaml: base + "  behavior:\n    egress_tools: [send_email]\n    rate_limits: [{scope: agent, limit: 60}]\n", present: true, check: func(t *testing.T, c behavior.Config) {
			if len(c.Sequences) != 1 || c.Sequences[0].Name != "sensitive-then-egress" || c.RateLimits[0].Limit != 60 {
				t.Errorf("unexpected config: %+v", c)
			}
		}},
		{name: "unknown key has field path", yaml: base + "  behavior: {windw: 1m}\n", errs: []string{"spec.behavior.windw"}},
		{name: "invalid joined with other problems", yaml: base + "  mode: later\n  behavior: {alpha: 3, warmup: -2}\n",
			errs: []string{"spec.mode", "spec.behavior.alpha", "spec.behavior.warmup"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.yaml))
			if len(tc.errs) > 0 {
				if err == nil {
					t.Fatal("invalid policy accepted")
				}
				for _, w := range tc.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, ok := p.Behavior()
			if ok != tc.present {
				t.Fatalf("Behavior() ok = %v, want %v", ok, tc.present)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}
