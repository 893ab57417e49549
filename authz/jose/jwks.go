package jose

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"time"
)

// KeySet is a parsed JWKS: public keys by kid.
type KeySet struct {
	keys []jwk
	// anyKid: a single embedded key (DPoP) matches whatever kid is named.
	anyKid bool
}

type jwk struct {
	kid string
	alg string // optional restriction from the JWKS
	key crypto.PublicKey
}

type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// maxJWKSBytes bounds a JWKS document.
const maxJWKSBytes = 1 << 20

// ParseJWKS parses a JSON Web Key Set with RSA (≥ 2048 bits), EC P-256 and
// Ed25519 public keys. Keys of other types are skipped; malformed keys of a
// supported type are errors.
func ParseJWKS(data []byte) (*KeySet, error) {
	var doc struct {
		Keys []rawJWK `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	ks := &KeySet{}
	var errs []error
	for i, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.publicKey()
		if err != nil {
			errs = append(errs, fmt.Errorf("keys[%d] (kid %q): %w", i, k.Kid, err))
			continue
		}
		if pub != nil {
			ks.keys = append(ks.keys, jwk{kid: k.Kid, alg: k.Alg, key: pub})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("parse JWKS: %w", errors.Join(errs...))
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("parse JWKS: no usable signing keys")
	}
	return ks, nil
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k rawJWK) publicKey() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64(k.N)
		if err != nil || len(n) == 0 {
			return nil, errors.New("bad RSA modulus")
		}
		e, err := b64(k.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA exponent")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too small (want ≥ 2048)", pub.N.BitLen())
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return nil, errors.New("bad RSA exponent")
		}
		return pub, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("unsupported EC curve %q (want P-256)", k.Crv)
		}
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad EC point")
		}
		// Validate the point through the uncompressed encoding.
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("bad EC point: %w", err)
		}
		return pub, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q (want Ed25519)", k.Crv)
		}
		x, err := b64(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, nil // unsupported key types (e.g. "oct") are ignored
}

// find returns the candidate keys for kid ("" = all keys when the set has
// exactly one).
func (ks *KeySet) find(kid string) []jwk {
	if kid == "" || ks.anyKid {
		if len(ks.keys) == 1 {
			return ks.keys
		}
		return nil
	}
	var out []jwk
	for _, k := range ks.keys {
		if k.kid == kid {
			out = append(out, k)
		}
	}
	return out
}

// LoadJWKSFile reads a JWKS from disk.
func LoadJWKSFile(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load JWKS %s: %w", path, err)
	}
	return ParseJWKS(data)
}

// FetchJWKS downloads a JWKS (bounded size, 10 s timeout unless ctx is
// shorter).
func FetchJWKS(ctx context.Context, client *http.Client, url string) (*KeySet, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: HTTP %d", url, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("fetch JWKS %s: larger than %d bytes", url, maxJWKSBytes)
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", url, err)
	}
	return ks, nil
}

// ParseJWK parses one public JSON Web Key (as embedded in a DPoP proof
// header) into a single-key set and returns its RFC 7638 SHA-256
// thumbprint, base64url-encoded. Private keys are refused.
func ParseJWK(raw []byte) (*KeySet, string, error) {
	var k rawJWK
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, "", fmt.Errorf("parse JWK: %w", err)
	}
	var priv struct {
		D string `json:"d"`
	}
	if json.Unmarshal(raw, &priv) == nil && priv.D != "" {
		return nil, "", errors.New("parse JWK: a private key must never be sent")
	}
	pub, err := k.publicKey()
	if err != nil {
		return nil, "", fmt.Errorf("parse JWK: %w", err)
	}
	if pub == nil {
		return nil, "", fmt.Errorf("parse JWK: unsupported key type %q", k.Kty)
	}
	// RFC 7638 §3.2: the required members only, in lexicographic order,
	// no whitespace. The values are base64url strings or fixed names, so
	// json.Marshal of a string is the canonical form.
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var canon string
	switch k.Kty {
	case "RSA":
		canon = `{"e":` + q(k.E) + `,"kty":"RSA","n":` + q(k.N) + `}`
	case "EC":
		canon = `{"crv":` + q(k.Crv) + `,"kty":"EC","x":` + q(k.X) + `,"y":` + q(k.Y) + `}`
	case "OKP":
		canon = `{"crv":` + q(k.Crv) + `,"kty":"OKP","x":` + q(k.X) + `}`
	}
	sum := sha256.Sum256([]byte(canon))
	return &KeySet{keys: []jwk{{key: pub}}, anyKid: true}, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// KeyCount is the number of usable keys in the set.
func (ks *KeySet) KeyCount() int { return len(ks.keys) }

// StringList reads a claim that may be a space- or comma-separated string
// or an array of strings (scope, aud, groups).
func StringList(v any) []string { return stringList(v) }
