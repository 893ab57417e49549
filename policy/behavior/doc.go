// Package behavior is Portcullis' session and behaviour engine (issue 7): it
// keeps per-agent and per-session state across tool calls and results and
// turns it into a 0-100 behavioural anomaly score (the policy's behavioral
// risk factor, see policy.BehaviorSignal) plus hard outcomes from rules.
//
// It owns:
//   - per-agent fixed windows (calls, errors, bytes and records returned,
//     new resources and tools) folded into EWMA baselines over active windows;
//     anomaly scores for velocity spikes, volume anomalies, error bursts and
//     resource escalation (a resource is derived from arguments such as path,
//     url, table or query by ExtractResource);
//   - toxic-flow sequence rules: a result carrying sensitive categories
//     followed in the same session by a call to an egress tool, and
//     sensitive values from earlier results appearing verbatim in later
//     arguments (values are kept only as salted SHA-256 prefixes, never raw);
//   - rate limits per agent, per tool and per server (sliding-window
//     estimate over two fixed windows);
//   - tool pinning (rug-pull detection) and cross-server shadowing.
//
// Invariants: all state lives behind the small Store interface (counter
// vectors, bitsets, bounded sets, blobs), so several processor replicas can
// share one store (see the redisstore sub-package); the in-memory Store is
// bounded by entry count and an approximate byte ceiling, evicting
// approximately-least-recently-used entries, except pins (stored without TTL),
// which are never evicted. Store traffic is batched (Batcher: one Redis
// pipeline, about one round trip per call and per result). The Engine never
// panics on bad input and never keeps raw sensitive values. When the store
// errors, anomaly scores fail open (score 0, reason says why) while tool
// pins and rate limits fail closed (the call is blocked with rule
// "pinning:unavailable" or "rate:<name>") unless Config.OnStoreError, a
// deployment setting, opens them.
package behavior
