package injection

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHardNegativeGenerators: the harder-negative generators are
// deterministic, give what was asked for, and fill every placeholder.
func TestHardNegativeGenerators(t *testing.T) {
	hp := func(seed uint64, n int) []string { p, d := GenerateHardBenign(seed, n); return append(p, d...) }
	for _, tc := range []struct {
		name string
		gen  func(seed uint64, n int) []string
	}{
		{"GenerateHardBenign", hp},
		{"GenerateComposedPrompts", GenerateComposedPrompts},
		{"GenerateBenignTasks", GenerateBenignTasks},
		{"GeneratePromptCode", GeneratePromptCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.gen(3, 400), tc.gen(3, 400)
			if len(a) != 400 || !slices.Equal(a, b) {
				t.Fatalf("not deterministic or wrong count: %d", len(a))
			}
			if slices.Equal(a, tc.gen(4, 400)) {
				t.Fatal("seed has no effect")
			}
			for _, s := range a {
				if strings.TrimSpace(s) == "" || !utf8.ValidString(s) {
					t.Fatalf("empty or invalid text %q", s)
				}
				for _, ph := range []string{"{name}", "{team}", "{tool}", "{city}", "{day}", "{topic}", "{role}", "{cmd}", "{s}", "{t}", "{x}"} {
					if strings.Contains(s, ph) {
						t.Fatalf("placeholder %s left in %q", ph, s)
					}
				}
			}
		})
	}
}
