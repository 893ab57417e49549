// Package detectors is the combined detection engine the gateway runs on
// every MCP message: it walks every string leaf of a JSON-RPC document (and
// the concatenation of sibling leaves, so an attack split across fields is
// still seen), normalises each once, and runs prompt injection, PII, secrets,
// exfiltration and invisible-character detectors over it; ScanTools checks a
// tools/list result for tool poisoning; RedactJSON rewrites PII and secrets
// through a redact.Vault.
//
// Invariants: no method panics on any input; work is bounded by Options
// (document size, depth, leaf count, bytes scanned per leaf) and linear in the
// input; Finding.Value (the raw matched text) is never serialised, so reports
// can go to audit as-is; spans are byte offsets into the leaf named by Path.
package detectors
