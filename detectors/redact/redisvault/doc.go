// Package redisvault implements redact.Store on Redis, so every Portcullis
// replica restores the surrogates any replica minted.
//
// A vault is one Redis hash (key prefix + vault name, a keyed digest of the
// binding): field "s:<surrogate>" holds the sealed original, field
// "l:<lookup>" the surrogate minted for one original. Load is HGETALL and
// PEXPIRE in one pipeline (one round trip); Claim is one Lua script, so two
// replicas minting at once never give one surrogate two originals nor one
// original two surrogates. Every operation touches one key (Cluster safe).
// Clear originals never reach Redis: the caller seals them (AES-GCM).
package redisvault
