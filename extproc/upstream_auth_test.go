package extproc

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/policy"
)

type failingResolver struct{}

func (failingResolver) Resolve(h map[string]string, _ map[string]*structpb.Struct) (policy.Identity, error) {
	if h["authorization"] == "" {
		return policy.Identity{}, nil
	}
	return policy.Identity{}, errors.New("unauthenticated: token expired at 2026-01-01T00:00:00Z")
}

func authzServer(t *testing.T, withResolver bool) extprocv3.ExternalProcessorClient {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secret, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_UPSTREAM_KEY", "env-secret")
	cfg, err := config.Parse([]byte(`
servers:
  - {name: plain, url: "http://127.0.0.1:1/mcp", tools: {allow: ["*"]}}
  - {name: fwd, url: "http://127.0.0.1:1/mcp", tools: {allow: ["*"]}, upstream_auth: {forward_client_token: true}}
  - {name: keyed, url: "http://127.0.0.1:1/mcp", tools: {allow: ["*"]}, upstream_auth: {type: static, header: x-api-key, secret_env: TEST_UPSTREAM_KEY}}
  - {name: bearer, url: "http://127.0.0.1:1/mcp", tools: {allow: ["*"]}, upstream_auth: {type: static, secret_file: ` + secret + `}}
`))
	if err != nil {
		t.Fatal(err)
	}
	opts := []Option{WithAuthz(Authz{Broker: authz.NewBroker(authz.BrokerOptions{})})}
	if withResolver {
		opts = append(opts, WithEngines(Engines{Identity: failingResolver{}}))
	}
	s := NewServer(cfg, opts...)
	g := grpc.NewServer()
	s.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return extprocv3.NewExternalProcessorClient(conn)
}

func headersOn(path string, kv ...string) *extprocv3.ProcessingRequest {
	base := []string{":method", "POST", ":path", path, "content-type", "application/json"}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: hdrs(false, append(base, kv...)...)}}
}

// TestUpstreamHeaders: the caller's credentials never reach an upstream
// unless the server opted in; the server's own credential is set.
func TestUpstreamHeaders(t *testing.T) {
	c := authzServer(t, false)
	tests := []struct {
		name       string
		path       string
		kv         []string
		wantRemove []string
		wantSet    map[string]string
	}{
		{"token stripped by default", "/mcp/plain", []string{"authorization", "Bearer client-token", "dpop", "proof"}, []string{"authorization", "dpop"}, nil},
		{"nothing to strip", "/mcp/plain", nil, nil, nil},
		{"explicit forward opt-in", "/mcp/fwd", []string{"authorization", "Bearer client-token"}, nil, nil},
		{"static key in its own header", "/mcp/keyed", []string{"authorization", "Bearer client-token", "x-api-key", "client-key"},
			[]string{"authorization", "x-api-key"}, map[string]string{"x-api-key": "env-secret"}},
		{"static bearer replaces the client's", "/mcp/bearer", []string{"authorization", "Bearer client-token"},
			[]string{"authorization"}, map[string]string{"authorization": "Bearer file-secret"}},
		{"static bearer without client token", "/mcp/bearer", nil, nil, map[string]string{"authorization": "Bearer file-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := converse(t, c, headersOn(tt.path, tt.kv...))[0]
			rh := r.GetRequestHeaders()
			if rh == nil {
				t.Fatalf("not a headers reply: %v", r)
			}
			m := rh.GetResponse().GetHeaderMutation()
			if got := m.GetRemoveHeaders(); !slices.Equal(got, tt.wantRemove) {
				t.Errorf("removed %v, want %v", got, tt.wantRemove)
			}
			got := map[string]string{}
			for _, o := range m.GetSetHeaders() {
				got[o.GetHeader().GetKey()] = string(o.GetHeader().GetRawValue())
			}
			// Every forwarded request asks for no encoding (issue 11 #1).
			if got["accept-encoding"] != "identity" {
				t.Errorf("accept-encoding = %q, want identity", got["accept-encoding"])
			}
			delete(got, "accept-encoding")
			if len(got) != len(tt.wantSet) {
				t.Fatalf("set %v, want %v", got, tt.wantSet)
			}
			for k, v := range tt.wantSet {
				if got[k] != v {
					t.Errorf("set %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestUnauthenticatedMessageAndChallenge(t *testing.T) {
	c := authzServer(t, true)
	r := converse(t, c, headersOn("/mcp/plain", "authorization", "Bearer expired"))[0]
	ir := r.GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 401 {
		t.Fatalf("reply %v", r)
	}
	body := string(ir.GetBody())
	if strings.Contains(body, "unauthenticated: unauthenticated:") || !strings.Contains(body, "unauthenticated: token expired") {
		t.Fatalf("body %s", body)
	}
	var ch string
	for _, h := range ir.GetHeaders().GetSetHeaders() {
		if h.GetHeader().GetKey() == "www-authenticate" {
			ch = string(h.GetHeader().GetRawValue())
		}
	}
	if !strings.HasPrefix(ch, `Bearer error="invalid_token", error_description="token expired`) {
		t.Fatalf("challenge %q", ch)
	}
}

// TestUpstreamChallengeNotPassedOn: an upstream 401 (it refused the
// gateway's credential) must not send the client to the upstream's
// authorization server.
func TestUpstreamChallengeNotPassedOn(t *testing.T) {
	c := authzServer(t, false)
	unauth := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: hdrs(false,
		":status", "401", "content-type", "application/json", "www-authenticate", `Bearer resource_metadata="http://upstream/.well-known/oauth-protected-resource"`)}}
	rs := converse(t, c, headersOn("/mcp/bearer"), reqBodyMsg(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`), unauth)
	ir := rs[2].GetImmediateResponse()
	if ir == nil || ir.GetStatus().GetCode() != 502 || !strings.Contains(string(ir.GetBody()), "refused the gateway's credential") || !strings.Contains(string(ir.GetBody()), `"id":3`) {
		t.Fatalf("reply %v", rs[2])
	}
	for _, h := range ir.GetHeaders().GetSetHeaders() {
		if h.GetHeader().GetKey() == "www-authenticate" {
			t.Fatalf("upstream challenge passed on: %v", h)
		}
	}
}

func TestToolScopesGlobs(t *testing.T) {
	m := map[string][]string{"write_*": {"files:write"}, "write_secret": {"secrets"}, "read_file": {"files:read"}}
	tests := []struct {
		tool string
		want []string
	}{
		{"write_file", []string{"files:write"}},
		{"write_secret", []string{"files:write", "secrets"}},
		{"read_file", []string{"files:read"}},
		{"list_dir", nil},
	}
	for _, tt := range tests {
		if got := toolScopes(m, tt.tool); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.tool, got, tt.want)
		}
	}
}

// TestUpstreamRequiresOAuth: a server without upstream_auth whose upstream
// answers 401 gets a 502 that says the upstream wants OAuth and names the
// configuration that fixes it, not "refused the gateway's credential".
func TestUpstreamRequiresOAuth(t *testing.T) {
	c := authzServer(t, false)
	for _, status := range []string{"401", "403"} {
		unauth := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: hdrs(false,
			":status", status, "content-type", "application/json", "www-authenticate", `Bearer resource_metadata="http://upstream/.well-known/oauth-protected-resource"`)}}
		rs := converse(t, c, headersOn("/mcp/plain"), reqBodyMsg(`{"jsonrpc":"2.0","id":4,"method":"tools/list"}`), unauth)
		ir := rs[2].GetImmediateResponse()
		body := string(ir.GetBody())
		want := "requires OAuth authorization"
		if status == "403" {
			want = "refused the gateway's credential"
		}
		if ir == nil || ir.GetStatus().GetCode() != 502 || !strings.Contains(body, want) || !strings.Contains(body, `"id":4`) {
			t.Fatalf("%s: reply %v", status, rs[2])
		}
		if status == "401" && (!strings.Contains(body, "upstream_auth.type: transparent") || !strings.Contains(body, "identity.oauth")) {
			t.Fatalf("401 body does not name the configuration: %s", body)
		}
		for _, h := range ir.GetHeaders().GetSetHeaders() {
			if h.GetHeader().GetKey() == "www-authenticate" {
				t.Fatalf("upstream challenge passed on: %v", h)
			}
		}
	}
}
