// Package redisopt owns the Redis connection settings shared by every piece
// of replicated state (the PII surrogate vault, the behaviour engine's
// counters and tool pins; approvals can use it too): one address, a
// Sentinel group or a Cluster, ACL user and password, TLS with a private CA
// and a client certificate, and timeouts, all mapped onto go-redis' own
// options.
//
// Invariants: Validate reports every problem with its field path; secrets
// are read from a file or an environment variable only when the client is
// built, never stored in the Options and never printed (String redacts);
// a Client is never built from options that did not validate.
package redisopt
