// Package soak drives a long run of MCP tool calls through a running
// Portcullis (`portcullis serve` as a child process) and watches the
// gateway's resources: resident memory, goroutines and open file
// descriptors. It owns the fake upstream MCP server the run talks to, the
// load driver, the sampler, the growth check and the report (a table, a CSV
// and a PNG plot).
//
// Invariants:
//   - The gateway runs in its own process, so what is sampled is the
//     gateway alone, not the load generator.
//   - Every call has an expected outcome (allowed, blocked, redacted,
//     notice); any other answer is counted as unexpected and fails the run.
//   - Growth is judged only after warm-up, against the sample taken when
//     warm-up ended; the bounds are explicit flags and are printed.
package soak
