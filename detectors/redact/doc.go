// Package redact owns reversible redaction: surrogate generation in three
// modes and the per-session Vault that maps surrogates back to originals.
//
// Modes: "mask" gives typed placeholders ([EMAIL_1]); "hash" gives keyed
// HMAC-SHA256 pseudonyms (<EMAIL_3fa1b2c3d4e5>) stable for a key; "synthetic"
// gives format-preserving fakes that can never be real (example.com mail,
// 555-01xx phones, TEST-NET / 2001:db8:: addresses, Luhn-valid cards in the
// 400000 test range, SSNs with the never-issued 000 area, IBANs with the
// never-valid 00 check digits); types without a safe fake fall back to mask.
//
// Invariants: a Vault is safe for concurrent use; the same original (and
// type) always gets the same surrogate within a vault while the entry lives;
// a surrogate is never chosen if it already occurs in the text being
// redacted, so Restore(Redact(x)) == x; the vault holds at most MaxEntries
// entries (oldest evicted first) and entries expire after TTL.
package redact
