// Package detectors is the combined detection engine the gateway runs on
// every MCP message: it walks every string leaf of a JSON-RPC document and
// runs PII, secrets and exfiltration detectors on each; it scores prompt
// injection once on the document's flattened prose (injection.FlattenLeaves:
// prose leaves in document order, JSON held in a string expanded, so an
// attack split across fields or content blocks is one text), whose single
// normalisation also serves the invisible-character and encoded-secret
// checks (leaves are inspected alone, with normalize.Inspect, only when it
// shows something to locate). Options.Plane selects the request or result
// threshold. ScanTools checks a tools/list result for tool poisoning;
// RedactJSON rewrites PII and secrets through a redact.Vault, and
// RedactReport does the same from the matches a ScanJSON report kept, so a
// scanned document is not detected twice.
//
// Invariants: no method panics on any input; work is bounded by Options
// (document size, depth, leaf count, bytes scanned per leaf) and linear in the
// input; Finding.Value (the raw matched text) is never serialised, so reports
// can go to audit as-is; spans are byte offsets into the leaf named by Path.
package detectors
