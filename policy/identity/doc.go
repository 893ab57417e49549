// Package identity establishes who the agent behind an MCP call is and
// returns it as a policy.Identity:
//
//  1. a JWT bearer token verified against a JWKS (file or URL) — iss, aud,
//     exp, nbf, and an algorithm allow-list of RS256, ES256 and EdDSA only
//     ("none" and HS* are always rejected, so a public key can never be
//     used as an HMAC secret);
//  2. the peer certificate's SPIFFE ID (URI SAN) as Envoy passes it in the
//     ext_proc attributes;
//  3. a plain header, for local development only, marked Insecure;
//  4. otherwise the policy's anonymous identity.
//
// The JWT and JWKS primitives are in authz/jose (aliased here); the OAuth
// resource server for MCP routes (audience = the route, scopes, DPoP,
// introspection) is authz.ResourceServer.
//
// Invariants: a presented but invalid token is an error, never a silent
// downgrade to anonymous; only the Go standard library does cryptography;
// a Resolver is safe for concurrent use.
package identity
