package config

import (
	"strings"
	"testing"
)

func TestAuthzConfig(t *testing.T) {
	base := `
listen: {proxy: 127.0.0.1:0}
servers:
  - name: files
    url: http://127.0.0.1:1/mcp
`
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; none = valid
	}{
		{"valid", base + `    scopes: [files:read]
    tool_scopes: {write_file: [files:write]}
    upstream_auth: {type: token_exchange, token_url: "https://as.example/token", client_id: gw, client_secret_env: GW_SECRET, audience: "https://up.example"}
identity:
  oauth: {resource: "http://localhost:8080", authorization_servers: ["https://as.example"], jwks_url: "https://as.example/jwks", scopes: [mcp]}
`, nil},
		{"every problem at once", base + `    scopes: ["bad scope"]
    upstream_auth: {type: static, forward_client_token: true, header: "bad header"}
identity:
  jwt: {issuer: x, audience: [y], jwks_file: z}
  oauth: {resource: "https://gw.example/path", authorization_servers: [], introspection: {url: "", client_secret_file: a, client_secret_env: b}}
`, []string{
			"identity.oauth.resource:", "identity.oauth.authorization_servers:", "identity.oauth.introspection.url:",
			"identity.oauth.introspection.client_id:", "identity.oauth.introspection.client_secret_file:", "identity.jwt: set either",
			`servers[0].scopes[0]: "bad scope"`, "servers[0].upstream_auth.secret_file: set exactly one",
			"servers[0].upstream_auth.header:", "servers[0].upstream_auth.forward_client_token: cannot be combined",
		}},
		{"scopes need oauth", base + `    scopes: [a]
    upstream_auth: {type: token_exchange, token_url: "https://as/token", client_id: gw}
`, []string{"servers[0].scopes: scopes and tool_scopes need identity.oauth", "servers[0].upstream_auth.type: token_exchange"}},
		{"unknown key", base + `    upstream_auth: {typ: static}
`, []string{"servers[0].upstream_auth.typ: unknown field"}},
		{"forward opt-in alone is valid", base + `    upstream_auth: {forward_client_token: true}
`, nil},
		{"resource host must be reachable", base + `identity:
  oauth: {resource: "https://mcp.example.com", authorization_servers: ["https://as.example"], jwks_url: "https://as.example/jwks"}
`, []string{`identity.oauth.resource: host "mcp.example.com" is not in listen.allowed_hosts`}},
		{"transparent needs oauth and no credentials", base + `    upstream_auth: {type: transparent, secret_env: X}
`, []string{"servers[0].upstream_auth.type: transparent needs identity.oauth", "takes no other credential settings"}},
		{"user_delegated valid", base + `    upstream_auth: {type: user_delegated, authorization_url: "https://up-as.example/authorize", token_url: "https://up-as.example/token", client_id: gw, client_secret_env: UP_SECRET, scopes: [repo], resource: "https://up.example/mcp"}
identity:
  oauth: {resource: "http://localhost:8080", authorization_servers: ["https://as.example"], jwks_url: "https://as.example/jwks"}
  upstream_oauth: {key_env: PORTCULLIS_TEST_DELEG_KEY}
`, nil},
		{"user_delegated every problem at once", base + `    upstream_auth: {type: user_delegated, authorization_url: "not a url", client_secret_file: a, client_secret_env: b, audience: x}
  - name: other
    url: http://127.0.0.1:2/mcp
    upstream_auth: {type: user_delegated, authorization_url: "https://a/authorize", token_url: "https://a/token", client_id: gw}
identity:
  upstream_oauth: {public_url: "https://gw.example/sub", key_file: /nonexistent/key, key_env: X, store: redis, consent_ttl: 48h}
`, []string{
			`servers[0].upstream_auth.authorization_url: "not a url"`, `servers[0].upstream_auth.token_url: ""`, "servers[0].upstream_auth.client_id: is required",
			"servers[0].upstream_auth.client_secret_file: set at most one", "servers[0].upstream_auth.audience: is not used",
			"servers[0].upstream_auth.type: user_delegated keeps one upstream grant per caller", "servers[1].upstream_auth.type: user_delegated keeps one",
			`identity.upstream_oauth.public_url: "https://gw.example/sub"`, "identity.upstream_oauth.key_file: set exactly one",
			"identity.upstream_oauth.store: redis needs state.redis", "identity.upstream_oauth.consent_ttl:",
		}},
		{"user_delegated needs upstream_oauth", base + `    upstream_auth: {type: user_delegated, authorization_url: "https://a/authorize", token_url: "https://a/token", client_id: gw}
identity:
  jwt: {issuer: x, audience: [y], jwks_file: z}
`, []string{"servers[0].upstream_auth.type: user_delegated needs identity.upstream_oauth"}},
		{"upstream_oauth key must be 32 bytes, without identity.oauth needs public_url", base + `identity:
  upstream_oauth: {key_env: PORTCULLIS_TEST_SHORT_KEY}
`, []string{"identity.upstream_oauth.public_url: is required", "identity.upstream_oauth.key_file: key is not 32 bytes"}},
		{"upstream_oauth.login needs identity.oauth and a client", base + `identity:
  upstream_oauth: {key_env: PORTCULLIS_TEST_DELEG_KEY, public_url: "https://gw.example", login: {client_secret_file: a, client_secret_env: b, auth_method: x}}
`, []string{"identity.upstream_oauth.login: needs identity.oauth", "identity.upstream_oauth.login.client_id: is required",
			"identity.upstream_oauth.login.client_secret_file: set at most one", `identity.upstream_oauth.login.auth_method: "x"`}},
	}
	t.Setenv("PORTCULLIS_TEST_DELEG_KEY", strings.Repeat("ab", 32))
	t.Setenv("PORTCULLIS_TEST_SHORT_KEY", "too-short")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "valid" {
					ac, err := c.AuthzConfig()
					if err != nil || ac.ToolScopes["files"]["write_file"][0] != "files:write" || ac.ServerScopes["files"][0] != "files:read" {
						t.Fatalf("AuthzConfig = %+v, %v", ac, err)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("want errors")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}
