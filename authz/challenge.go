package authz

import (
	"strings"
)

// Challenge is one RFC 6750 / RFC 9728 WWW-Authenticate challenge.
type Challenge struct {
	// Scheme is "Bearer" (default) or "DPoP".
	Scheme string
	// Error is the RFC 6750 error code: "" when no credentials were sent
	// (RFC 6750 §3.1), invalid_request, invalid_token, insufficient_scope,
	// or invalid_dpop_proof.
	Error            string
	ErrorDescription string
	// Scope lists the scopes the request needs (space-separated on the wire).
	Scope []string
	// ResourceMetadata is the RFC 9728 metadata URL of the resource.
	ResourceMetadata string
	// Algs are the DPoP proof algorithms accepted (DPoP scheme only).
	Algs []string
}

// String renders the challenge as a WWW-Authenticate header value.
func (c Challenge) String() string {
	var b strings.Builder
	scheme := c.Scheme
	if scheme == "" {
		scheme = "Bearer"
	}
	b.WriteString(scheme)
	first := true
	param := func(k, v string) {
		if v == "" {
			return
		}
		if first {
			b.WriteByte(' ')
			first = false
		} else {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(quote(v))
		b.WriteByte('"')
	}
	param("error", c.Error)
	param("error_description", c.ErrorDescription)
	param("scope", strings.Join(c.Scope, " "))
	param("resource_metadata", c.ResourceMetadata)
	param("algs", strings.Join(c.Algs, " "))
	return b.String()
}

// quote makes v safe inside a quoted-string: RFC 6750 §3 limits error and
// error_description to %x20-21 / %x23-5B / %x5D-7E, so quotes, backslashes
// and control or non-ASCII bytes are replaced rather than escaped (clients
// differ in how they unescape). The result is bounded.
func quote(v string) string {
	const max = 256
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < max; i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\'')
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
