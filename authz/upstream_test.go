package authz_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/authztest"
)

func TestBrokerCredentials(t *testing.T) {
	as := authztest.New(t, authztest.Options{})
	as.AddClient(authztest.Client{ID: "gateway", Secret: "gw-secret"})
	t.Setenv("UPSTREAM_KEY", "sk-static-1")
	t.Setenv("GW_SECRET", "gw-secret")
	b := authz.NewBroker(authz.BrokerOptions{})
	ctx := context.Background()

	// The caller, validated by the resource server.
	rs := newRS(t, as, nil)
	c := as.Claims("alice", gw+"/mcp/files", "mcp")
	c["iss"] = as.URL
	callerTok := as.Mint(c)
	p, err := rs.Authenticate(ctx, authz.Request{Server: "files", Authorization: "Bearer " + callerTok})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		cfg        authz.UpstreamConfig
		principal  *authz.Principal
		wantHeader string
		wantPrefix string
		wantErr    string
	}{
		{"none", authz.UpstreamConfig{}, p, "", "", ""},
		{"static env", authz.UpstreamConfig{Kind: "static", SecretEnv: "UPSTREAM_KEY"}, nil, "authorization", "Bearer sk-static-1", ""},
		{"static custom header", authz.UpstreamConfig{Kind: "static", SecretEnv: "UPSTREAM_KEY", Header: "X-Api-Key"}, nil, "x-api-key", "sk-static-1", ""},
		{"static unset env", authz.UpstreamConfig{Kind: "static", SecretEnv: "NOPE_UNSET"}, nil, "", "", "NOPE_UNSET is empty or unset"},
		{"client credentials", authz.UpstreamConfig{Kind: "client_credentials", TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecretEnv: "GW_SECRET", Resource: "https://up.example/mcp"}, nil, "authorization", "Bearer ey", ""},
		{"client credentials bad secret", authz.UpstreamConfig{Kind: "client_credentials", TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecretEnv: "UPSTREAM_KEY"}, nil, "", "", "invalid_client"},
		{"token exchange", authz.UpstreamConfig{Kind: "token_exchange", TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecretEnv: "GW_SECRET", Audience: "https://up.example/mcp"}, p, "authorization", "Bearer ey", ""},
		{"token exchange without caller", authz.UpstreamConfig{Kind: "token_exchange", TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecretEnv: "GW_SECRET"}, nil, "", "", "authenticated OAuth caller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := authz.ValidateUpstream(tt.cfg); err != nil {
				t.Fatalf("config: %v", err)
			}
			cred, ok, err := b.Credential(ctx, "files-"+tt.name, tt.cfg, tt.principal)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "gw-secret") || strings.Contains(err.Error(), "sk-static") {
					t.Fatalf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantHeader == "" {
				if ok {
					t.Fatalf("credential %v for none", cred)
				}
				return
			}
			if !ok || cred.Header != tt.wantHeader || !strings.HasPrefix(cred.Value, tt.wantPrefix) {
				t.Fatalf("got %q: %q", cred.Header, cred.Value)
			}
			if strings.Contains(cred.Value, callerTok) {
				t.Fatal("the caller's token became the upstream credential")
			}
			if strings.Contains(cred.String(), cred.Value) {
				t.Fatal("Credential.String shows the secret")
			}
		})
	}

	// Cached until expiry: a second call makes no new token request.
	before := len(as.Requests())
	cc := authz.UpstreamConfig{Kind: "token_exchange", TokenURL: as.TokenURL(), ClientID: "gateway", ClientSecretEnv: "GW_SECRET", Audience: "https://up.example/mcp"}
	first, _, err := b.Credential(ctx, "files-token exchange", cc, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(as.Requests()); n != before {
		t.Fatalf("cached exchange made %d new token requests", n-before)
	}
	reqs := as.Requests()
	var ex *authztest.TokenRequest
	for i := range reqs {
		if reqs[i].GrantType == "urn:ietf:params:oauth:grant-type:token-exchange" && reqs[i].Issued != "" {
			ex = &reqs[i]
		}
	}
	if ex == nil || ex.SubjectSub != "alice" || ex.Audience != "https://up.example/mcp" || "Bearer "+ex.Issued != first.Value {
		t.Fatalf("exchange request %+v", ex)
	}
}

func TestValidateUpstream(t *testing.T) {
	tests := []struct {
		cfg  authz.UpstreamConfig
		want []string
	}{
		{authz.UpstreamConfig{Kind: "magic"}, []string{"type:"}},
		{authz.UpstreamConfig{Kind: "static"}, []string{"secret_file: set exactly one"}},
		{authz.UpstreamConfig{Kind: "client_credentials", AuthMethod: "jwt"}, []string{"token_url", "client_id", "auth_method"}},
		{authz.UpstreamConfig{Kind: "static", SecretEnv: "X", Header: "bad header"}, []string{"header:"}},
		{authz.UpstreamConfig{TokenURL: "https://x"}, []string{"type: is none"}},
	}
	for _, tt := range tests {
		err := authz.ValidateUpstream(tt.cfg)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: missing %q in %v", tt.cfg, w, err)
			}
		}
	}
}

// TestBrokerBacksOffWhenTokenEndpointFails: a failing token endpoint is
// asked at most once per back-off period, not on every request.
func TestBrokerBacksOffWhenTokenEndpointFails(t *testing.T) {
	var hits atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer down.Close()
	now := time.Now()
	b := authz.NewBroker(authz.BrokerOptions{Now: func() time.Time { return now }})
	cfg := authz.UpstreamConfig{Kind: "client_credentials", TokenURL: down.URL, ClientID: "gw"}
	for range 3 {
		if _, _, err := b.Credential(context.Background(), "s", cfg, nil); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
			t.Fatalf("err %v", err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("token endpoint asked %d times within the back-off", hits.Load())
	}
	now = now.Add(6 * time.Second)
	_, _, _ = b.Credential(context.Background(), "s", cfg, nil)
	if hits.Load() != 2 {
		t.Fatalf("token endpoint asked %d times after the back-off, want 2", hits.Load())
	}
}
