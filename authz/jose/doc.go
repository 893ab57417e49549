// Package jose verifies compact JWS tokens (JWTs and DPoP proofs) against
// JSON Web Keys, with an algorithm allow-list of RS256, ES256 and EdDSA:
// "none" and HS* are always rejected, so a public key can never be used as
// an HMAC secret, and a key verifies only the algorithm of its own type.
//
// It imports only the standard library, so every layer (identity, authz,
// config validation) can use it. Only the Go standard library does
// cryptography.
package jose
