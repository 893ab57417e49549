// Package authz makes the gateway an OAuth 2.1 resource server for the MCP
// authorization specification and brokers the credentials the gateway
// presents to upstream MCP servers.
//
// It owns:
//   - RFC 9728 protected-resource metadata for every server route
//     (Metadata, MetadataHandler) and the WWW-Authenticate challenges that
//     point clients at it (Challenge);
//   - access-token validation (ResourceServer): JWTs against a JWKS that is
//     refreshed in the background (the last good keys are kept when the
//     JWKS endpoint is down), opaque tokens through RFC 7662 introspection
//     with a bounded cache, issuer, audience = the gateway's own resource
//     URL for the route (RFC 8707), expiry, scopes, and DPoP proofs with
//     cnf.jkt (RFC 9449) when a token is sender-constrained;
//   - upstream credentials (Broker): none, a static secret from a file or
//     environment variable, OAuth client credentials, or RFC 8693 token
//     exchange of the caller's token, each cached until shortly before it
//     expires;
//   - user-delegated upstream OAuth (Delegation): the authorization-code
//     flow with PKCE against an upstream's authorization server on each
//     user's behalf, through the gateway's consent page and callback; the
//     user's tokens are sealed (AES-256-GCM, bound to principal and server,
//     under keyed names) in a TokenStore (MemoryStore, or redisstore for
//     replicas) and refreshed when expired;
//   - transparent routes (transparent.go): the upstream stays the resource
//     server; the gateway rewrites its challenges and protected-resource
//     metadata to the route's URL, keeps the upstream's authorization
//     server (clients register and get tokens there, for the route's URL)
//     and validates each token against that server's issuer and keys
//     before forwarding it.
//
// Invariants: a presented token that fails any check is refused, never
// downgraded to anonymous; the caller's token is never returned as an
// upstream credential (Broker has no pass-through mode: forwarding the
// client's token is the caller's explicit, separately configured choice);
// tokens and secrets never appear in errors or String output; only the Go
// standard library does cryptography. authz imports no gateway, config or
// extproc package.
package authz
