package secrets

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"testing"
)

// gitleaks_samples.json holds, per gitleaks v8.30.1 rule id, up to 8 of the
// true-positive and false-positive samples its rule generators validate
// (MIT, github.com/gitleaks/gitleaks cmd/generate/config/rules), dumped by
// running the generators with Validate recording its arguments.
type sampleSet struct {
	TPs []string `json:"tps"`
	FPs []string `json:"fps"`
}

func loadSamples(t testing.TB) map[string]sampleSet {
	t.Helper()
	b, err := os.ReadFile("testdata/gitleaks_samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]sampleSet
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGitleaksSupportedRules: every true-positive sample of every gitleaks
// rule this package ports must be caught.
func TestGitleaksSupportedRules(t *testing.T) {
	samples := loadSamples(t)
	for _, id := range RuleIDs() {
		set, ok := samples[id]
		if !ok {
			continue // our own rule (connection strings etc.)
		}
		t.Run(id, func(t *testing.T) {
			for _, tp := range set.TPs {
				if len(Find(tp)) == 0 {
					t.Errorf("missed true positive %q", tp)
				}
			}
		})
	}
}

// TestGitleaksCoverage prints the share of all gitleaks rules' samples
// caught (by any of our rules) and the false-positive rate on their FP
// samples; `make eval-pii` shows it with -v.
func TestGitleaksCoverage(t *testing.T) {
	samples := loadSamples(t)
	ids := make([]string, 0, len(samples))
	for id := range samples {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var tp, tpAll, fp, fpSame, fpAll, rulesFull int
	var missed []string
	for _, id := range ids {
		s := samples[id]
		caught := 0
		for _, x := range s.TPs {
			if len(Find(x)) > 0 {
				caught++
			}
		}
		tp += caught
		tpAll += len(s.TPs)
		if caught == len(s.TPs) {
			rulesFull++
		} else {
			missed = append(missed, id)
		}
		for _, x := range s.FPs {
			fpAll++
			ms := Find(x)
			if len(ms) > 0 {
				fp++
			}
			for _, m := range ms {
				if m.Rule == id {
					fpSame++
					t.Errorf("rule %s flags its own false-positive sample %q", id, x)
					break
				}
			}
		}
	}
	t.Logf("gitleaks v8.30.1 samples: rules fully covered %d/%d; TP samples caught %d/%d (%.1f%%); FP samples flagged by the same rule %d/%d, by any rule %d/%d (mostly another vendor's key of the same shape)",
		rulesFull, len(ids), tp, tpAll, 100*float64(tp)/float64(max(1, tpAll)), fpSame, fpAll, fp, fpAll)
	t.Logf("ported rules: %d; rules with misses: %v", len(RuleIDs()), missed)
	if tp == 0 || slices.Contains(missed, "private-key") {
		t.Errorf("coverage collapsed: %d caught", tp)
	}
}
