// Package secrets finds credentials in text: cloud keys, service tokens,
// private keys, JWTs, connection strings with passwords and generic
// "key = value" secrets gated by entropy. Rule patterns are ported from the
// gitleaks default rule set (MIT, github.com/gitleaks/gitleaks v8.30.1).
//
// Design: a single pass over the lower-cased text finds rule keywords via a
// two-byte prefix table (prefilter); each rule's RE2-class regexp (Go
// regexp, linear time) runs only on bounded windows around its keyword hits,
// merged per rule, so large benign text costs one byte-table pass.
//
// Invariants: Find never panics, is linear in len(s) (windows are bounded and
// merged), returns non-overlapping matches sorted by Start; Match spans cover
// the secret value itself where the rule has a capture group.
//
// Results are pinned by testdata/find.golden (Find over gitleaks' true- and
// false-positive samples, real tool output and rule keywords followed by
// markdown-table tails, generated from the code before the speed work; where
// two rules match the same span, Find always picks the first rule):
// TestFindGolden must pass unchanged after an optimisation; an intended change
// of results is made with -update and reviewed as a diff of that file.
// FuzzFindInvariants checks the invariants above, determinism and the
// soundness of the anchored keyword check on arbitrary input.
package secrets
