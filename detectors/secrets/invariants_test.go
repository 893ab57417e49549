package secrets

import (
	"slices"
	"strings"
	"testing"
)

// checkInvariants: properties of Find that hold for any input and need no
// second implementation. Matches name a known rule, are sorted,
// non-overlapping and inside s with confidence in (0, 1]; a repeated call
// (after another input) returns the same matches; and where the anchored
// assignment check rejects a keyword hit the loose one accepted, the rule's
// regexp cannot match there (so the shortcut loses nothing).
func checkInvariants(t *testing.T, s string) {
	t.Helper()
	ms := Find(s)
	prev := 0
	for _, m := range ms {
		if !slices.Contains(RuleIDs(), m.Rule) || m.Start < prev || m.Start >= m.End || m.End > len(s) || m.Confidence <= 0 || m.Confidence > 1 {
			t.Fatalf("Find(%.200q): bad match %+v after offset %d", s, m, prev)
		}
		prev = m.End
	}
	Find("aws_access_key_id = AKIAQYLPMN5HFIQR7XYZ password=hunter2hunter2")
	if again := Find(s); !slices.Equal(ms, again) {
		t.Fatalf("Find(%.200q) = %+v, then %+v", s, ms, again)
	}
	lower := strings.ToLower(s)
	for _, ru := range rules {
		if ru.assign && ru.anchored && ru.compile() {
			for _, k := range ru.keywords {
				if i := strings.Index(lower, k); i >= 0 && !assignAfter(s, i+len(k), true) && assignAfter(s, i+len(k), false) {
					if loc := ru.re.FindStringSubmatchIndex(s[i:]); loc != nil {
						t.Fatalf("%s: %q rejected but the regexp matches", ru.id, s[i:])
					}
				}
			}
		}
	}
}

// TestFindInvariantsOnCorpus: the invariants hold on the golden inputs.
func TestFindInvariantsOnCorpus(t *testing.T) {
	n := 0
	for _, s := range findTexts(t) {
		checkInvariants(t, s)
		n += len(Find(s))
	}
	if n < 1000 {
		t.Fatalf("only %d matches in the corpus", n)
	}
}

// TestAssignAfterSound: whenever the anchored check rejects a keyword hit
// the loose check accepted, the rule's regexp (anchored at the keyword)
// cannot match there.
func TestAssignAfterSound(t *testing.T) {
	n := 0
	for _, ru := range rules {
		if !ru.assign || !ru.anchored || !ru.compile() {
			continue
		}
		for _, k := range ru.keywords {
			for _, tail := range markdownTails {
				s := k + tail
				if assignAfter(s, len(k), false) && !assignAfter(s, len(k), true) {
					n++
					if loc := ru.re.FindStringSubmatchIndex(s); loc != nil {
						t.Errorf("%s: %q rejected but the regexp matches %q", ru.id, s, s[loc[0]:loc[1]])
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no case exercised the lone '|' rejection")
	}
}

func FuzzFindInvariants(f *testing.F) {
	for _, s := range []string{"token | value", "api_key = 'abcdefghijklmnop1234'", "| secret | x |", "AKIAIOSFODNN7EXAMPLE"} {
		f.Add(s)
	}
	f.Fuzz(checkInvariants)
}

// TestFindDeterministic: two rules matching the same span resolve to the
// same rule on every call.
func TestFindDeterministic(t *testing.T) {
	s := `bittrex_TOKEN :::= "qejlisq87ud8movps3swxrjlwakq94bf"`
	first := Find(s)
	if len(first) == 0 {
		t.Fatal("no match")
	}
	for range 100 {
		if got := Find(s); len(got) != len(first) || got[0] != first[0] {
			t.Fatalf("Find = %+v, earlier %+v", got, first)
		}
	}
}
