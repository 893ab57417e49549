// Package approval owns human approval of tool calls: requests bound to the
// exact call (principal, server, method, tool, a digest of the canonical
// arguments and the policy version), who may approve them (named approvers
// and groups, k-of-n quorum, self-approval and separation of duties), their
// lifecycle (pending → approved/rejected/expired, approved → used) and the
// sealed requestState that lets any replica validate a 2026-07-28 retry.
//
// Invariants:
//   - A grant unlocks exactly one call with exactly the binding it was
//     requested for (Binding.Key), and only once: consumption is an atomic
//     compare-and-swap in the Store, so two replicas cannot both use it.
//   - A retry of a pending call returns the same request id; nothing is
//     minted twice for one binding while a request is live.
//   - Timeouts default to reject; every transition is handed to the Recorder
//     (content-free: ids, names, digests, scores) before it takes effect for
//     the caller, and a Recorder error refuses the call (fail closed).
//   - The Service never stores raw arguments: only the digest and the view
//     produced by the configured redactor.
//
// Sub-packages: protocol (the binding of an MCP call and the reply per
// protocol revision), redisstore (shared state for several gateway
// instances), notify (signed webhook, Slack, Microsoft Teams), console (admin
// HTTP API and operator console) and storetest (the Store conformance suite).
package approval
