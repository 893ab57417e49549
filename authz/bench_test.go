package authz_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/authztest"
	"github.com/portcullis-mcp/portcullis/policy/identity"
)

// BenchmarkValidate compares the resource server's per-request token check
// (ES256 signature, iss, aud = route, exp, scopes, principal) with the
// identity.jwt resolver it replaces for OAuth deployments (baseline: same
// token, same key, no route audience or scopes).
func BenchmarkValidate(b *testing.B) {
	as := authztest.New(b, authztest.Options{})
	c := as.Claims("alice", gw+"/mcp/files", "mcp files:read")
	c["iss"] = as.URL
	tok := as.Mint(c)
	b.Run("baseline=identity.jwt", func(b *testing.B) {
		resp, err := os.ReadFile(fetchJWKS(b, as))
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "jwks.json")
		if err := os.WriteFile(path, resp, 0o600); err != nil {
			b.Fatal(err)
		}
		r, err := identity.New(context.Background(), identity.Config{JWT: &identity.JWTConfig{Issuer: as.URL, Audience: []string{gw + "/mcp/files"}, JWKSFile: path}})
		if err != nil {
			b.Fatal(err)
		}
		h := map[string]string{"authorization": "Bearer " + tok}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve(h, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("authz.ResourceServer", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rs, err := authz.New(ctx, authz.Config{Resource: gw, AuthorizationServers: []string{as.URL}, JWKSURL: as.JWKSURL(), Scopes: []string{"mcp"}})
		if err != nil {
			b.Fatal(err)
		}
		req := authz.Request{Server: "files", Method: "POST", Path: "/mcp/files", Authorization: "Bearer " + tok}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rs.Authenticate(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func fetchJWKS(b *testing.B, as *authztest.Server) string {
	b.Helper()
	ks, err := identity.FetchJWKS(context.Background(), nil, as.JWKSURL())
	if err != nil || ks.KeyCount() != 1 {
		b.Fatal(err)
	}
	// Re-download the raw document for the file-based baseline.
	path := filepath.Join(b.TempDir(), "raw.json")
	raw, err := httpGet(as.JWKSURL())
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
