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
// entries (oldest evicted first, in O(1)) and entries expire after TTL.
//
// Vaults is the gateway's set of vaults, one per binding the caller builds
// from the authenticated principal, the route and the session. In memory it
// keeps at most MaxVaults vaults (least recently used evicted in O(1), idle
// ones dropped after TTL). With a Store (redisvault) vaults are shared by
// every replica: originals are sealed with AES-256-GCM (Sealer, key ids for
// rotation) bound to the vault and surrogate, vault names are keyed digests
// of the binding, new surrogates are claimed atomically, and a store that
// cannot be reached fails closed (ErrUnavailable): nothing is redacted or
// restored silently, so a caller refuses the message instead of forwarding
// surrogates or clear values.
package redact
