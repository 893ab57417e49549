package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-mcp/portcullis/policy"
)

var enc = base64.RawURLEncoding

type testKeys struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	jwks []byte
}

var (
	keysOnce sync.Once
	keys     testKeys
)

func getKeys(t testing.TB) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if keys.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if keys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, keys.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
		ecPub, _ := keys.ec.PublicKey.Bytes() // 0x04 || X || Y
		doc := map[string]any{"keys": []map[string]string{
			{"kty": "RSA", "kid": "rsa1", "use": "sig", "n": enc.EncodeToString(keys.rsa.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(keys.rsa.E)).Bytes())},
			{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": enc.EncodeToString(ecPub[1:33]), "y": enc.EncodeToString(ecPub[33:])},
			{"kty": "OKP", "kid": "ed1", "crv": "Ed25519", "x": enc.EncodeToString(keys.ed.Public().(ed25519.PublicKey))},
			{"kty": "oct", "kid": "ignored", "k": "c2VjcmV0"},
		}}
		keys.jwks, _ = json.Marshal(doc)
	})
	return keys
}

// sign builds a compact JWS with alg/kid over claims.
func sign(t testing.TB, alg, kid string, claims map[string]any) string {
	t.Helper()
	k := getKeys(t)
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	p, _ := json.Marshal(claims)
	in := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	d := sha256.Sum256([]byte(in))
	var sig []byte
	var err error
	switch alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.rsa, crypto.SHA256, d[:])
	case "ES256":
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k.ec, d[:])
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case "EdDSA":
		sig = ed25519.Sign(k.ed, []byte(in))
	case "HS256":
		// The attack: use the RSA public modulus as an HMAC secret.
		m := hmac.New(sha256.New, k.rsa.N.Bytes())
		m.Write([]byte(in))
		sig = m.Sum(nil)
	case "none":
	}
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + enc.EncodeToString(sig)
}

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func claims(over map[string]any) map[string]any {
	c := map[string]any{"iss": "https://idp.example", "aud": "portcullis", "sub": "agent-7",
		"exp": now.Add(time.Hour).Unix(), "nbf": now.Add(-time.Minute).Unix(), "groups": []string{"eng", "data-team"}, "roles": "reader writer"}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func newResolver(t *testing.T, mut func(*Config)) *Resolver {
	t.Helper()
	k := getKeys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, k.jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		JWT:       &JWTConfig{Issuer: "https://idp.example", Audience: []string{"portcullis"}, JWKSFile: path},
		SPIFFE:    &SPIFFEConfig{TrustDomains: []string{"prod.example.org"}, Trust: "high"},
		Header:    &HeaderConfig{},
		TrustByID: []TrustRule{{ID: "spiffe://prod.example.org/ns/ops/*", Trust: "high"}, {ID: "spiffe://prod.example.org/ns/batch/*", Trust: "low"}},
	}
	if mut != nil {
		mut(&cfg)
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	return r
}

func sanAttrs(san string) map[string]*structpb.Struct {
	return map[string]*structpb.Struct{ExtProcAttributesKey: {Fields: map[string]*structpb.Value{SANAttribute: structpb.NewStringValue(san)}}}
}

func TestResolve(t *testing.T) {
	r := newResolver(t, nil)
	tests := []struct {
		name    string
		headers map[string]string
		attrs   map[string]*structpb.Struct
		want    policy.Identity
		wantErr error
	}{
		{"RS256", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "rsa1", claims(nil))}, nil,
			policy.Identity{ID: "agent-7", Groups: []string{"eng", "data-team"}, Roles: []string{"reader", "writer"}, Trust: "medium", Source: "jwt"}, nil},
		{"ES256", map[string]string{"authorization": "Bearer " + sign(t, "ES256", "ec1", claims(map[string]any{"trust": "high"}))}, nil,
			policy.Identity{ID: "agent-7", Groups: []string{"eng", "data-team"}, Roles: []string{"reader", "writer"}, Trust: "high", Source: "jwt"}, nil},
		{"EdDSA lower-case bearer", map[string]string{"authorization": "bearer " + sign(t, "EdDSA", "ed1", claims(map[string]any{"aud": []string{"other", "portcullis"}}))}, nil,
			policy.Identity{ID: "agent-7", Groups: []string{"eng", "data-team"}, Roles: []string{"reader", "writer"}, Trust: "medium", Source: "jwt"}, nil},
		{"expired", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "rsa1", claims(map[string]any{"exp": now.Add(-time.Hour).Unix()}))}, nil, policy.Identity{}, ErrExpired},
		{"not yet valid", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "rsa1", claims(map[string]any{"nbf": now.Add(time.Hour).Unix()}))}, nil, policy.Identity{}, ErrNotYetValid},
		{"missing exp", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "rsa1", claims(map[string]any{"exp": nil}))}, nil, policy.Identity{}, ErrMissingClaim},
		{"wrong issuer", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "rsa1", claims(map[string]any{"iss": "https://evil"}))}, nil, policy.Identity{}, ErrIssuer},
		{"wrong audience", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "rsa1", claims(map[string]any{"aud": "other"}))}, nil, policy.Identity{}, ErrAudience},
		{"alg none", map[string]string{"authorization": "Bearer " + sign(t, "none", "rsa1", claims(nil))}, nil, policy.Identity{}, ErrAlgorithm},
		{"HS256 with the public key as secret", map[string]string{"authorization": "Bearer " + sign(t, "HS256", "rsa1", claims(nil))}, nil, policy.Identity{}, ErrAlgorithm},
		{"RS256 header over an EC key", map[string]string{"authorization": "Bearer " + swapKid(sign(t, "RS256", "rsa1", claims(nil)), "ec1")}, nil, policy.Identity{}, ErrSignature},
		{"unknown kid", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "nope", claims(nil))}, nil, policy.Identity{}, ErrNoKey},
		{"tampered payload", map[string]string{"authorization": "Bearer " + tamper(sign(t, "ES256", "ec1", claims(nil)))}, nil, policy.Identity{}, ErrSignature},
		{"garbage", map[string]string{"authorization": "Bearer a.b"}, nil, policy.Identity{}, ErrMalformed},
		{"not bearer", map[string]string{"authorization": "Basic Zm9vOmJhcg=="}, nil, policy.Identity{}, ErrUnauthenticated},
		{"SPIFFE", nil, sanAttrs("spiffe://prod.example.org/ns/web/sa/agent"),
			policy.Identity{ID: "spiffe://prod.example.org/ns/web/sa/agent", Trust: "high", Source: "spiffe"}, nil},
		{"SPIFFE trust by id", nil, sanAttrs("spiffe://prod.example.org/ns/batch/sa/x"),
			policy.Identity{ID: "spiffe://prod.example.org/ns/batch/sa/x", Trust: "low", Source: "spiffe"}, nil},
		{"SPIFFE foreign trust domain", nil, sanAttrs("spiffe://evil.example/ns/web"), policy.Identity{}, ErrUnauthenticated},
		{"SPIFFE malformed", nil, sanAttrs("https://prod.example.org/x"), policy.Identity{}, ErrUnauthenticated},
		{"JWT wins over SPIFFE", map[string]string{"authorization": "Bearer " + sign(t, "RS256", "rsa1", claims(map[string]any{"groups": nil, "roles": nil}))}, sanAttrs("spiffe://prod.example.org/a"),
			policy.Identity{ID: "agent-7", Trust: "medium", Source: "jwt"}, nil},
		{"dev header is insecure and not elevated", map[string]string{"x-portcullis-agent": "spiffe://prod.example.org/ns/ops/root", "x-portcullis-groups": "eng,ops"}, nil,
			policy.Identity{ID: "spiffe://prod.example.org/ns/ops/root", Groups: []string{"eng", "ops"}, Trust: "low", Source: "header", Insecure: true}, nil},
		{"anonymous", map[string]string{}, nil, policy.Identity{ID: "anonymous", Trust: "untrusted", Source: "anonymous"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(tt.headers, tt.attrs)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("err = %v, want %v (and ErrUnauthenticated)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalID(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func equalID(a, b policy.Identity) bool {
	eq := func(x, y []string) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	return a.ID == b.ID && a.Trust == b.Trust && a.Source == b.Source && a.Insecure == b.Insecure && eq(a.Groups, b.Groups) && eq(a.Roles, b.Roles)
}

func swapKid(tok, kid string) string {
	parts := splitTok(tok)
	var h map[string]string
	b, _ := enc.DecodeString(parts[0])
	_ = json.Unmarshal(b, &h)
	h["kid"] = kid
	nb, _ := json.Marshal(h)
	return enc.EncodeToString(nb) + "." + parts[1] + "." + parts[2]
}

func tamper(tok string) string {
	parts := splitTok(tok)
	var c map[string]any
	b, _ := enc.DecodeString(parts[1])
	_ = json.Unmarshal(b, &c)
	c["sub"] = "admin"
	nb, _ := json.Marshal(c)
	return parts[0] + "." + enc.EncodeToString(nb) + "." + parts[2]
}

func splitTok(tok string) [3]string {
	var out [3]string
	i := 0
	start := 0
	for j := 0; j < len(tok); j++ {
		if tok[j] == '.' {
			out[i] = tok[start:j]
			i++
			start = j + 1
		}
	}
	out[i] = tok[start:]
	return out
}

func TestJWKSURLAndRefresh(t *testing.T) {
	k := getKeys(t)
	var hits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		_, _ = w.Write(k.jwks)
	}))
	defer srv.Close()
	r, err := New(context.Background(), Config{JWT: &JWTConfig{Issuer: "https://idp.example", Audience: []string{"portcullis"}, JWKSURL: srv.URL, HTTPClient: srv.Client(), RefreshInterval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	id, err := r.Resolve(map[string]string{"authorization": "Bearer " + sign(t, "EdDSA", "ed1", claims(nil))}, nil)
	if err != nil || id.ID != "agent-7" {
		t.Fatalf("got %+v, %v", id, err)
	}
	// An unknown kid does not refetch inside the refresh interval.
	if _, err := r.Resolve(map[string]string{"authorization": "Bearer " + sign(t, "EdDSA", "rotated", claims(nil))}, nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("want ErrNoKey, got %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", hits)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(context.Background(), Config{JWT: &JWTConfig{Algorithms: []string{"HS256"}}, TrustByID: []TrustRule{{ID: ""}}})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"jwt.issuer", "jwt.audience", "exactly one of jwks_file and jwks_url", `jwt.algorithms[0]: "HS256"`, "trust_by_id[0].id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestParseJWKSRejectsWeakKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	bad := []string{
		`{"keys":[{"kty":"RSA","n":"` + enc.EncodeToString(small.N.Bytes()) + `","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"` + enc.EncodeToString(make([]byte, 32)) + `","y":"` + enc.EncodeToString(make([]byte, 32)) + `"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}`,
		`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`,
		`not json`,
	}
	for i, b := range bad {
		if _, err := ParseJWKS([]byte(b)); err == nil {
			t.Errorf("case %d: want error", i)
		}
	}
}

func FuzzVerifyJWT(f *testing.F) {
	f.Add(sign(f, "RS256", "rsa1", claims(nil)))
	f.Add(sign(f, "ES256", "ec1", claims(nil)))
	f.Add(sign(f, "EdDSA", "ed1", claims(nil)))
	f.Add(sign(f, "none", "", claims(nil)))
	f.Add("a.b.c")
	ks, err := ParseJWKS(getKeys(f).jwks)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := VerifyJWT(tok, ks, VerifyOptions{Issuer: "https://idp.example", Audience: []string{"portcullis"}, Now: now})
		if err == nil && c["sub"] == nil {
			t.Fatalf("verified token without sub: %q", tok)
		}
	})
}

func FuzzParseSPIFFEID(f *testing.F) {
	for _, s := range []string{"spiffe://prod.example.org/ns/a", "spiffe://", "spiffe://a/../b", "https://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		td, err := ParseSPIFFEID(s)
		if err == nil && td == "" {
			t.Fatalf("accepted %q without trust domain", s)
		}
	})
}
