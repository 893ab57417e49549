package injection

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTriggerBenignParts: the trigger-word generator is deterministic, fills
// every placeholder, keeps its evaluation, calibration and training parts
// apart (no prompt of one part is produced by another), and the first-list
// evaluation prompts come from the evaluation part.
func TestTriggerBenignParts(t *testing.T) {
	seen := map[string]bool{}
	for _, tpl := range append(slices.Clone(triggerTemplates), triggerTemplatesMore...) {
		if seen[tpl] {
			t.Fatalf("template listed twice: %q", tpl)
		}
		seen[tpl] = true
	}
	parts := map[int][]string{}
	for _, p := range []int{TriggerEval, TriggerCalib, TriggerTrain} {
		a := GenerateTriggerBenignPart(5, 3000, p)
		if len(a) != 3000 || !slices.Equal(a, GenerateTriggerBenignPart(5, 3000, p)) {
			t.Fatalf("part %d: not deterministic or wrong count (%d)", p, len(a))
		}
		for _, s := range a {
			if strings.TrimSpace(s) == "" || !utf8.ValidString(s) {
				t.Fatalf("part %d: empty or invalid text %q", p, s)
			}
			for _, ph := range []string{"{tech}", "{who}", "{topic}", "{lang}"} {
				if strings.Contains(s, ph) {
					t.Fatalf("part %d: placeholder %s left in %q", p, ph, s)
				}
			}
		}
		parts[p] = a
	}
	in := func(p int) map[string]bool {
		m := map[string]bool{}
		for _, s := range parts[p] {
			m[s] = true
		}
		return m
	}
	eval, calib, train := in(TriggerEval), in(TriggerCalib), in(TriggerTrain)
	for s := range eval {
		if calib[s] || train[s] {
			t.Fatalf("evaluation prompt also generated for calibration or training: %q", s)
		}
	}
	for s := range calib {
		if train[s] {
			t.Fatalf("calibration prompt also generated for training: %q", s)
		}
	}
	if !slices.Equal(GenerateTriggerBenign(5, 300, true), GenerateTriggerBenignPart(5, 300, TriggerEval)) {
		t.Fatal("GenerateTriggerBenign(heldOut) is not the evaluation part")
	}
	first := GenerateTriggerBenignFirst(5, 300)
	if len(first) != 300 || !slices.Equal(first, GenerateTriggerBenignFirst(5, 300)) {
		t.Fatal("first-list prompts not deterministic or wrong count")
	}
	for _, s := range first {
		if calib[s] || train[s] || !eval[s] {
			t.Fatalf("first-list evaluation prompt outside the evaluation part: %q", s)
		}
	}
}
