// Package exfil finds exfiltration signatures: large encoded blobs
// (base64/hex runs), data smuggled into URLs (long or high-entropy query
// values, encoded path segments, markdown images pointing at such URLs), and
// bulk records (many emails, cards or secrets in one message, counted by
// Counter from other detectors' findings).
//
// Invariants: Scan never panics and is linear in len(s); Counter is not safe
// for concurrent use (one per scan).
//
// Results are pinned by testdata/scan.golden (Scan over real tool output and
// URL/blob shapes around the thresholds, generated from the code before the
// speed work): TestScanGolden must pass unchanged after an optimisation; an
// intended change of results is made with -update and reviewed as a diff of
// that file. FuzzScanInvariants checks span, category and threshold
// invariants and determinism on arbitrary input.
package exfil
