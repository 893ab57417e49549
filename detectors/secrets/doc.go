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
// Speed work is pinned to a frozen copy of the code before it (internal/secretsref):
// Find must return what the reference returns (equivalence test and fuzz target;
// where two rules match the same span the reference picked one by map order,
// Find now always picks the first rule);
// an intended change of results changes the reference too.
package secrets
