// Package authztest is a small, standards-complete OAuth 2.1 authorization
// server for tests: RFC 8414 metadata, a JWKS, the authorization endpoint
// (authorization code with PKCE S256 only, automatic consent, RFC 9207 iss
// in the response, Client ID Metadata Documents when Options.CIMDClient is
// set), the token endpoint (authorization_code, client
// credentials, RFC 8693 token exchange, refresh_token), RFC 7662
// introspection, RFC 7591 dynamic registration, and RFC 8707 resource
// indicators that become the token audience. Tokens are ES256 JWTs, or
// opaque strings when Options.Opaque is set.
//
// It is for tests only: every consent is granted, keys live in memory.
package authztest
