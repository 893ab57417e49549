package identity

import "github.com/portcullis-mcp/portcullis/authz/jose"

// The JWT and JWKS primitives live in authz/jose; these names keep the
// identity API stable.
type (
	KeySet        = jose.KeySet
	Claims        = jose.Claims
	VerifyOptions = jose.VerifyOptions
)

var (
	ParseJWKS    = jose.ParseJWKS
	LoadJWKSFile = jose.LoadJWKSFile
	FetchJWKS    = jose.FetchJWKS
	VerifyJWT    = jose.VerifyJWT

	ErrMalformed    = jose.ErrMalformed
	ErrAlgorithm    = jose.ErrAlgorithm
	ErrNoKey        = jose.ErrNoKey
	ErrSignature    = jose.ErrSignature
	ErrExpired      = jose.ErrExpired
	ErrNotYetValid  = jose.ErrNotYetValid
	ErrIssuer       = jose.ErrIssuer
	ErrAudience     = jose.ErrAudience
	ErrMissingClaim = jose.ErrMissingClaim
)

func stringList(v any) []string { return jose.StringList(v) }
