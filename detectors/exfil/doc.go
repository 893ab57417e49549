// Package exfil finds exfiltration signatures: large encoded blobs
// (base64/hex runs), data smuggled into URLs (long or high-entropy query
// values, encoded path segments, markdown images pointing at such URLs), and
// bulk records (many emails, cards or secrets in one message, counted by
// Counter from other detectors' findings).
//
// Invariants: Scan never panics and is linear in len(s); Counter is not safe
// for concurrent use (one per scan).
//
// Speed work is pinned to a frozen copy of the code before it (internal/exfilref):
// Scan must return what the reference returns (equivalence test and fuzz target);
// an intended change of results changes the reference too.
package exfil
