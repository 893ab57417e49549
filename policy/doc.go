// Package policy owns the Portcullis policy file and the decision it yields
// for every MCP call and tool result.
//
// A policy file (YAML, shaped like an Istio AuthorizationPolicy) is decoded
// strictly, defaulted explicitly and validated as a whole by Parse/Load; every
// problem is reported at once with its field path. CEL `when` clauses are
// compiled exactly once, at load, with a runtime cost limit; Evaluate never
// compiles.
//
// Invariants:
//   - A *Policy is immutable after Parse returns and safe for concurrent use;
//     hot reload (Store) swaps whole *Policy values atomically, so an in-flight
//     call keeps the policy it started with.
//   - Unknown servers and unknown tools are denied (default deny).
//   - Deny overrides everything: block > require_approval > sandbox > redact >
//     allow. An allow rule with force: true overrides only the risk band.
//   - Untrusted tool annotations can raise the action factor but never lower
//     it below the tool's floor.
//   - Every Decision carries a unique ID, the policy version, the 0-100 risk
//     score and all seven factors.
//   - Rules whose mode is not enforced (dry-run, shadow, staged outside its
//     bucket) change WouldAction, never Action.
//
// The policy/identity sub-package turns JWTs, SPIFFE IDs and development
// headers into the Identity that Input carries.
package policy
