package policy

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxExplain bounds Explain's text (it goes into JSON-RPC error messages).
const maxExplain = 400

// Explain says why d was decided, for the caller, without contradicting
// it: the reason of the rule that decided first, then other reasons that
// agree with the action (a risk band that said "allow" is not quoted under
// a block), and for a risk band the factors that drove the score. Every
// refusal (extproc and approval replies) uses this one text.
func (d Decision) Explain() string {
	out := make([]string, 0, 3)
	decisive := "rule " + d.Rule + ":"
	for _, r := range d.Reasons {
		if strings.HasPrefix(r, decisive) {
			out = append(out, r)
			break
		}
	}
	for _, r := range d.Reasons {
		if len(out) >= 2 {
			break
		}
		if strings.HasPrefix(r, decisive) || !agrees(r, d.WouldAction) {
			continue
		}
		out = append(out, r)
	}
	if strings.HasPrefix(d.Rule, "risk:") {
		// A score band decided: name the factors that drove the score.
		fs := slices.Clone(d.Factors)
		slices.SortFunc(fs, func(a, b Factor) int { return b.Value*b.Weight - a.Value*a.Weight })
		for _, f := range fs[:min(2, len(fs))] {
			if f.Value > 0 && f.Weight > 0 && f.Reason != "" {
				out = append(out, f.Name+" "+strconv.Itoa(f.Value)+": "+f.Reason)
			}
		}
	}
	if len(out) == 0 {
		return "rule " + d.Rule
	}
	s := strings.Join(out, "; ")
	if len(s) <= maxExplain {
		return s
	}
	cut := maxExplain
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// agrees reports whether a policy reason is consistent with the final
// action: reasons naming an action ("rule x: allow", "… → allow") must name
// this one.
func agrees(reason string, a Action) bool {
	if i := strings.LastIndex(reason, "→ "); i >= 0 {
		return strings.HasPrefix(reason[i+len("→ "):], string(a))
	}
	if strings.HasPrefix(reason, "rule ") {
		if _, after, ok := strings.Cut(reason, ": "); ok {
			act, _, _ := strings.Cut(after, " ")
			act, _, _ = strings.Cut(act, ";")
			return act == string(a)
		}
	}
	return true
}
