// Package audit owns the tamper-evident audit log: one Record per decision
// (request and result plane), shaped after OCSF API Activity (class_uid 6003)
// with the security_control profile.
//
// Storage: append-only segment files seg-NNNNNNNN.jsonl in Config.Dir, one
// line per record:
//
//	{"rec":<canonical record JSON>,"hash":"<hex SHA-256(prev_hash || rec)>"}
//
// where rec starts with {"seq":N,"prev_hash":"<hex>", and the first record's
// prev_hash is 32 zero bytes. The chain continues across segments. A single
// writer goroutine appends with group commit (fsync every commit.every
// records or commit.interval) and writes a signed checkpoint (Ed25519 over
// origin, size, head, segment, time) to checkpoints.jsonl every
// checkpoint.every records or checkpoint.interval, and on Close.
//
// Invariants:
//   - Append never waits for disk; the queue is bounded. When it is full,
//     on_full: block makes Append return ErrQueueFull (the caller refuses the
//     request: fail closed); on_full: drop counts the loss and writes a gap
//     record with the count. Nothing is lost silently.
//   - With content: false (the default) no argument, result or error content
//     is encoded; only metadata, finding types/counts and digests.
//   - Records reach sinks only after they are durable.
//   - Verify reports the first break (edited, deleted, reordered, inserted,
//     bad signature, torn write) and the unanchored tail.
package audit
