package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Allowed JWT algorithms. Everything else — notably "none" and HS256/384/512
// (which would let a public key act as an HMAC secret) — is rejected.
var allowedAlgs = []string{"RS256", "ES256", "EdDSA"}

// maxTokenBytes bounds a bearer token.
const maxTokenBytes = 16 << 10

// Claims are the verified claims of a token.
type Claims map[string]any

// VerifyOptions are the checks applied to a token.
type VerifyOptions struct {
	Issuer   string   // required match of iss
	Audience []string // aud must contain one of these
	// Algorithms narrows the allow-list (default RS256, ES256, EdDSA).
	Algorithms []string
	Leeway     time.Duration // clock skew for exp/nbf (default 30 s)
	Now        time.Time     // zero = time.Now()
}

// Errors returned by VerifyJWT (wrapped with detail).
var (
	ErrMalformed    = errors.New("malformed token")
	ErrAlgorithm    = errors.New("algorithm not allowed")
	ErrNoKey        = errors.New("no matching key")
	ErrSignature    = errors.New("invalid signature")
	ErrExpired      = errors.New("token expired")
	ErrNotYetValid  = errors.New("token not yet valid")
	ErrIssuer       = errors.New("wrong issuer")
	ErrAudience     = errors.New("wrong audience")
	ErrMissingClaim = errors.New("missing claim")
)

// VerifyJWT checks a compact JWS token against ks and opts and returns its
// claims.
func VerifyJWT(token string, ks *KeySet, opts VerifyOptions) (Claims, error) {
	_, payload, err := VerifyJWS(token, ks, opts.Algorithms)
	if err != nil {
		return nil, err
	}
	var claims Claims
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	if err := checkClaims(claims, opts); err != nil {
		return nil, err
	}
	return claims, nil
}

// JWSHeader is the protected header of a verified JWS.
type JWSHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	JWK  json.RawMessage `json:"jwk"`
	Crit []any           `json:"crit"`
}

// ParseJWSHeader decodes the header of a compact JWS without verifying it
// (used to find an embedded key, as in a DPoP proof).
func ParseJWSHeader(token string) (JWSHeader, error) {
	var hdr JWSHeader
	if len(token) > maxTokenBytes {
		return hdr, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenBytes)
	}
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		return hdr, fmt.Errorf("%w: want three dot-separated parts", ErrMalformed)
	}
	hdrJSON, err := b64(h)
	if err != nil {
		return hdr, fmt.Errorf("%w: header encoding: %v", ErrMalformed, err)
	}
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return hdr, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	return hdr, nil
}

// VerifyJWS checks the signature of a compact JWS against ks with an
// algorithm from algs (default and upper bound: RS256, ES256, EdDSA) and
// returns the header and the raw payload. It checks no claims.
func VerifyJWS(token string, ks *KeySet, algs []string) (JWSHeader, []byte, error) {
	if len(token) > maxTokenBytes {
		return JWSHeader{}, nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenBytes)
	}
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s, ".") {
		return JWSHeader{}, nil, fmt.Errorf("%w: want three dot-separated parts", ErrMalformed)
	}
	hdr, err := ParseJWSHeader(token)
	if err != nil {
		return hdr, nil, err
	}
	if len(hdr.Crit) > 0 {
		return hdr, nil, fmt.Errorf("%w: unsupported crit header", ErrMalformed)
	}
	if len(algs) == 0 {
		algs = allowedAlgs
	}
	if !slices.Contains(allowedAlgs, hdr.Alg) || !slices.Contains(algs, hdr.Alg) {
		return hdr, nil, fmt.Errorf("%w: %q", ErrAlgorithm, hdr.Alg)
	}
	sig, err := b64(s)
	if err != nil {
		return hdr, nil, fmt.Errorf("%w: signature encoding: %v", ErrMalformed, err)
	}
	signed := token[:len(h)+1+len(p)]
	keys := ks.find(hdr.Kid)
	if len(keys) == 0 {
		return hdr, nil, fmt.Errorf("%w: kid %q", ErrNoKey, hdr.Kid)
	}
	verified := false
	for _, k := range keys {
		if k.alg != "" && k.alg != hdr.Alg {
			continue
		}
		if verifySig(hdr.Alg, k.key, signed, sig) {
			verified = true
			break
		}
	}
	if !verified {
		return hdr, nil, ErrSignature
	}
	payload, err := b64(p)
	if err != nil {
		return hdr, nil, fmt.Errorf("%w: payload encoding: %v", ErrMalformed, err)
	}
	return hdr, payload, nil
}

// verifySig checks sig over signed with key, requiring the key type that
// alg names (so an RSA key can never verify an ES256 token and vice versa).
func verifySig(alg string, key any, signed string, sig []byte) bool {
	switch alg {
	case "RS256":
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return false
		}
		d := sha256.Sum256([]byte(signed))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
	case "ES256":
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || len(sig) != 64 {
			return false
		}
		d := sha256.Sum256([]byte(signed))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, d[:], r, s)
	case "EdDSA":
		pub, ok := key.(ed25519.PublicKey)
		if !ok {
			return false
		}
		return ed25519.Verify(pub, []byte(signed), sig)
	}
	return false
}

func numericDate(c Claims, name string) (time.Time, bool, error) {
	v, ok := c[name]
	if !ok {
		return time.Time{}, false, nil
	}
	f, ok := v.(float64)
	if !ok {
		return time.Time{}, true, fmt.Errorf("%w: %s is not a number", ErrMalformed, name)
	}
	sec := int64(f)
	return time.Unix(sec, 0), true, nil
}

// CheckClaims applies the time, issuer and audience checks of opts to
// claims that were verified earlier (a cache of verified tokens).
func CheckClaims(c Claims, opts VerifyOptions) error { return checkClaims(c, opts) }

func checkClaims(c Claims, opts VerifyOptions) error {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	leeway := opts.Leeway
	if leeway == 0 {
		leeway = 30 * time.Second
	}
	exp, ok, err := numericDate(c, "exp")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	}
	if now.After(exp.Add(leeway)) {
		return fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	nbf, ok, err := numericDate(c, "nbf")
	if err != nil {
		return err
	}
	if ok && now.Add(leeway).Before(nbf) {
		return fmt.Errorf("%w until %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339))
	}
	if opts.Issuer != "" {
		if iss, _ := c["iss"].(string); iss != opts.Issuer {
			return fmt.Errorf("%w: %q", ErrIssuer, iss)
		}
	}
	if len(opts.Audience) > 0 {
		auds := stringList(c["aud"])
		if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(opts.Audience, a) }) {
			return fmt.Errorf("%w: %v", ErrAudience, auds)
		}
	}
	return nil
}

// stringList reads a claim that may be a string (space- or
// comma-separated) or an array of strings.
func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return strings.FieldsFunc(t, func(r rune) bool { return r == ' ' || r == ',' })
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ClientID is the OAuth client a token was issued to: client_id (RFC 9068,
// RFC 8693), else azp (OpenID Connect).
func ClientID(c Claims) string {
	if s, _ := c["client_id"].(string); s != "" {
		return s
	}
	s, _ := c["azp"].(string)
	return s
}

// maxActDepth bounds how much of a nested act claim is read.
const maxActDepth = 8

// ActorChain is the delegation chain of RFC 8693 §4.1's act claim: the
// current actor first, then the actors before it (each act nests the
// previous one). Actors without a sub are skipped; at most 8 are read.
func ActorChain(c Claims) []string {
	var out []string
	for act, depth := c["act"], 0; act != nil && depth < maxActDepth; depth++ {
		m, ok := act.(map[string]any)
		if !ok {
			break
		}
		if s, _ := m["sub"].(string); s != "" {
			out = append(out, s)
		}
		act = m["act"]
	}
	return out
}
