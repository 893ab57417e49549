package config

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/authz"
)

// OAuthIdentity makes the gateway the OAuth 2.1 resource server of every
// MCP route (docs/authorization.md): it serves RFC 9728 metadata, answers
// 401/403 with WWW-Authenticate challenges, and accepts only tokens issued
// for its own route URL. Secrets are read from files or the environment,
// never written in this file.
type OAuthIdentity struct {
	// Resource is the gateway's public base URL as clients reach it, e.g.
	// https://mcp.example.com; server s is Resource/mcp/s.
	Resource             string   `yaml:"resource"`
	AuthorizationServers []string `yaml:"authorization_servers"`
	// Issuer tokens must carry (default authorization_servers[0]).
	Issuer     string   `yaml:"issuer"`
	JWKSURL    string   `yaml:"jwks_url"`
	JWKSFile   string   `yaml:"jwks_file"`
	Algorithms []string `yaml:"algorithms"`
	// Introspection validates opaque tokens (RFC 7662).
	Introspection *OAuthIntrospection `yaml:"introspection"`
	// Scopes every request needs (servers[].scopes adds per server).
	Scopes []string `yaml:"scopes"`
	// ScopesSupported is advertised in the metadata (default: all scopes named).
	ScopesSupported []string `yaml:"scopes_supported"`
	// AcceptBaseAudience also accepts tokens for Resource itself.
	AcceptBaseAudience bool          `yaml:"accept_base_audience"`
	RequireDPoP        bool          `yaml:"require_dpop"`
	Leeway             time.Duration `yaml:"leeway"`
	JWKSRefresh        time.Duration `yaml:"jwks_refresh"`
	GroupsClaim        string        `yaml:"groups_claim"`
	RolesClaim         string        `yaml:"roles_claim"`
	TrustClaim         string        `yaml:"trust_claim"`
	DefaultTrust       string        `yaml:"default_trust"`
}

// OAuthIntrospection reaches the authorization server's RFC 7662 endpoint.
type OAuthIntrospection struct {
	URL              string        `yaml:"url"`
	ClientID         string        `yaml:"client_id"`
	ClientSecretFile string        `yaml:"client_secret_file"`
	ClientSecretEnv  string        `yaml:"client_secret_env"`
	CacheSize        int           `yaml:"cache_size"`
	CacheTTL         time.Duration `yaml:"cache_ttl"`
}

// UpstreamAuth is the credential the gateway presents to one upstream. The
// client's own Authorization header is always removed before the upstream,
// unless ForwardClientToken is set (an explicit, logged risk: the MCP
// authorization specification forbids token pass-through).
type UpstreamAuth struct {
	// Type: none (default), static, client_credentials, token_exchange, or
	// transparent (the upstream stays the OAuth resource server; the
	// gateway rewrites its challenges and metadata and forwards the
	// caller's token, which was issued for the gateway's route URL).
	Type string `yaml:"type"`
	// ForwardClientToken passes the caller's Authorization header through.
	ForwardClientToken bool `yaml:"forward_client_token"`
	// Header carries the credential (default authorization); Scheme
	// prefixes a static secret (default Bearer on authorization).
	Header string `yaml:"header"`
	Scheme string `yaml:"scheme"`
	// Static secret source: exactly one.
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
	// OAuth against the upstream's authorization server.
	TokenURL         string   `yaml:"token_url"`
	ClientID         string   `yaml:"client_id"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	ClientSecretEnv  string   `yaml:"client_secret_env"`
	AuthMethod       string   `yaml:"auth_method"`
	Scopes           []string `yaml:"scopes"`
	Audience         string   `yaml:"audience"`
	Resource         string   `yaml:"resource"`
	// AuthorizationURL is the upstream authorization server's authorization
	// endpoint (user_delegated).
	AuthorizationURL string `yaml:"authorization_url"`
}

// UpstreamOAuth is the gateway's side of user-delegated upstream OAuth
// (servers[].upstream_auth.type: user_delegated): the gateway runs the
// authorization-code flow with PKCE for each user and keeps their tokens,
// sealed, in the state store.
type UpstreamOAuth struct {
	// PublicURL is where browsers reach the gateway's consent pages
	// (default identity.oauth.resource); register
	// <public_url>/oauth/upstream/callback at the upstream's authorization
	// server.
	PublicURL string `yaml:"public_url"`
	// KeyFile or KeyEnv holds the 32-byte key (raw, hex or base64) that
	// seals the stored tokens (AES-256-GCM). Every replica needs the same.
	KeyFile string `yaml:"key_file"`
	KeyEnv  string `yaml:"key_env"`
	// Store is memory or redis (default: redis when state.redis is set).
	Store string `yaml:"store"`
	// ConsentTTL bounds a consent link (default 10m); GrantTTL how long an
	// unused grant is kept (default 720h, renewed on each refresh).
	ConsentTTL time.Duration `yaml:"consent_ttl"`
	GrantTTL   time.Duration `yaml:"grant_ttl"`
	// Login binds each consent to the person at the browser: they sign in
	// at identity.oauth's authorization server first, and only the
	// principal whose call asked for consent may grant it.
	Login *ConsentLogin `yaml:"login"`
}

// ConsentLogin is the gateway's client at identity.oauth's authorization
// server for the sign-in of the consent page (redirect URI
// <public_url>/oauth/upstream/login).
type ConsentLogin struct {
	ClientID         string `yaml:"client_id"`
	ClientSecretFile string `yaml:"client_secret_file"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	// AuthMethod is client_secret_basic (default) or client_secret_post.
	AuthMethod string `yaml:"auth_method"`
}

// Key loads the sealing key. Errors never contain key material.
func (u *UpstreamOAuth) Key() ([]byte, error) {
	return VaultKey{File: u.KeyFile, Env: u.KeyEnv}.Load()
}

// UpstreamOAuthURL is the public URL of the consent pages ("" when unset).
func (c *Config) UpstreamOAuthURL() string {
	if u := c.Identity.UpstreamOAuth; u != nil && u.PublicURL != "" {
		return u.PublicURL
	}
	if c.Identity.OAuth != nil {
		return c.Identity.OAuth.Resource
	}
	return ""
}

// UpstreamOAuthStore is memory or redis (state.redis set: redis by default).
func (c *Config) UpstreamOAuthStore() string {
	if u := c.Identity.UpstreamOAuth; u != nil && u.Store != "" {
		return u.Store
	}
	if c.State.Redis.Enabled() {
		return StoreRedis
	}
	return StoreMemory
}

// Delegates reports whether the server uses user-delegated upstream OAuth.
func (s *Server) Delegates() bool {
	return s.UpstreamAuth != nil && s.UpstreamAuth.Type == authz.UpstreamDelegated
}

// AuthzConfig converts identity.oauth (nil when unset) for authz.New,
// reading the introspection secret.
func (c *Config) AuthzConfig() (*authz.Config, error) {
	o := c.Identity.OAuth
	if o == nil {
		return nil, nil
	}
	out := c.authzConfig()
	if in := o.Introspection; in != nil {
		secret, err := readSecret(in.ClientSecretFile, in.ClientSecretEnv)
		if err != nil {
			return nil, fmt.Errorf("identity.oauth.introspection: %w", err)
		}
		out.Introspection.ClientSecret = secret
	}
	return out, nil
}

func (c *Config) authzConfig() *authz.Config {
	o := c.Identity.OAuth
	out := &authz.Config{Resource: o.Resource, AuthorizationServers: o.AuthorizationServers, Issuer: o.Issuer,
		JWKSURL: o.JWKSURL, JWKSFile: o.JWKSFile, Algorithms: o.Algorithms, Scopes: o.Scopes, ScopesSupported: o.ScopesSupported,
		AcceptBaseAudience: o.AcceptBaseAudience, RequireDPoP: o.RequireDPoP, Leeway: o.Leeway, RefreshInterval: o.JWKSRefresh,
		GroupsClaim: o.GroupsClaim, RolesClaim: o.RolesClaim, TrustClaim: o.TrustClaim, DefaultTrust: o.DefaultTrust}
	if in := o.Introspection; in != nil {
		out.Introspection = &authz.IntrospectionConfig{URL: in.URL, ClientID: in.ClientID, CacheSize: in.CacheSize, CacheTTL: in.CacheTTL}
	}
	for _, s := range c.Servers {
		if len(s.Scopes) > 0 {
			if out.ServerScopes == nil {
				out.ServerScopes = map[string][]string{}
			}
			out.ServerScopes[s.Name] = s.Scopes
		}
		if len(s.ToolScopes) > 0 {
			if out.ToolScopes == nil {
				out.ToolScopes = map[string]map[string][]string{}
			}
			out.ToolScopes[s.Name] = s.ToolScopes
		}
	}
	return out
}

// Upstream converts servers[].upstream_auth (zero value: none).
func (u *UpstreamAuth) Upstream() authz.UpstreamConfig {
	if u == nil {
		return authz.UpstreamConfig{}
	}
	return authz.UpstreamConfig{Kind: u.Type, Header: u.Header, Scheme: u.Scheme, SecretFile: u.SecretFile, SecretEnv: u.SecretEnv,
		TokenURL: u.TokenURL, ClientID: u.ClientID, ClientSecretFile: u.ClientSecretFile, ClientSecretEnv: u.ClientSecretEnv,
		AuthMethod: u.AuthMethod, Scopes: u.Scopes, Audience: u.Audience, Resource: u.Resource, AuthorizationURL: u.AuthorizationURL}
}

// Upstream is the server's credential configuration with its URL, from
// which user_delegated discovers the upstream's authorization server when
// no endpoints are configured.
func (s *Server) Upstream() authz.UpstreamConfig {
	c := s.UpstreamAuth.Upstream()
	c.UpstreamURL = s.URL
	return c
}

// Forwards reports whether the upstream receives the caller's token: the
// explicit forward_client_token opt-in, or a transparent route.
func (s *Server) Forwards() bool {
	return s.UpstreamAuth != nil && (s.UpstreamAuth.ForwardClientToken || s.UpstreamAuth.Type == authz.UpstreamTransparent)
}

// Transparent reports whether the upstream stays the OAuth resource server
// (upstream_auth.type: transparent).
func (s *Server) Transparent() bool {
	return s.UpstreamAuth != nil && s.UpstreamAuth.Type == authz.UpstreamTransparent
}

func readSecret(file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("client secret: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case env != "":
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("client secret: environment variable %s is empty or unset", env)
		}
		return v, nil
	}
	return "", nil
}

// validateAuthz checks identity.oauth and the servers' upstream_auth,
// scopes and tool_scopes.
func (c *Config) validateAuthz(add func(path, format string, args ...any)) {
	each := func(prefix string, err error) {
		if err == nil {
			return
		}
		var parts []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			parts = j.Unwrap()
		} else {
			parts = []error{err}
		}
		for _, e := range parts {
			field, msg, _ := strings.Cut(e.Error(), ": ")
			add(prefix+"."+field, "%s", msg)
		}
	}
	o := c.Identity.OAuth
	if o != nil {
		ac := c.authzConfig()
		ac.ServerScopes, ac.ToolScopes = nil, nil // checked below with their servers[] paths
		each("identity.oauth", ac.Validate())
		if c.Identity.JWT != nil {
			add("identity.jwt", "set either identity.jwt or identity.oauth, not both (identity.oauth validates JWTs too)")
		}
		if c.Identity.SPIFFE != nil || c.Identity.Header != nil {
			add("identity.oauth", "every route then needs an OAuth token, so identity.spiffe and identity.header would never apply; remove them")
		}
		if u, err := url.Parse(o.Resource); err == nil && u.Host != "" && len(c.Listen.AllowedHosts) > 0 &&
			!slices.ContainsFunc(c.Listen.AllowedHosts, func(h string) bool { return strings.EqualFold(strings.Trim(h, "[]"), u.Hostname()) }) {
			// Clients reach the gateway under this name; the Host check
			// would refuse every one of them with 403.
			add("identity.oauth.resource", "host %q is not in listen.allowed_hosts %v; add it there", u.Hostname(), c.Listen.AllowedHosts)
		}
		if in := o.Introspection; in != nil && in.ClientSecretFile != "" && in.ClientSecretEnv != "" {
			add("identity.oauth.introspection.client_secret_file", "set at most one of client_secret_file and client_secret_env")
		}
	}
	c.validateUpstreamOAuth(add)
	for i, s := range c.Servers {
		p := fmt.Sprintf("servers[%d]", i)
		if o == nil && (len(s.Scopes) > 0 || len(s.ToolScopes) > 0) {
			add(p+".scopes", "scopes and tool_scopes need identity.oauth")
		}
		for j, sc := range s.Scopes {
			if !authz.ValidScope(sc) {
				add(fmt.Sprintf("%s.scopes[%d]", p, j), "%q is not a valid scope token", sc)
			}
		}
		for tool, scopes := range s.ToolScopes {
			if err := ValidGlob(tool); err != nil {
				add(p+".tool_scopes."+tool, "%v", err)
			}
			for j, sc := range scopes {
				if !authz.ValidScope(sc) {
					add(fmt.Sprintf("%s.tool_scopes.%s[%d]", p, tool, j), "%q is not a valid scope token", sc)
				}
			}
		}
		u := s.UpstreamAuth
		if u == nil {
			continue
		}
		if u.Type == authz.UpstreamTransparent {
			if o == nil {
				add(p+".upstream_auth.type", "transparent needs identity.oauth (its resource is the gateway's public URL)")
			}
			if u.ForwardClientToken || u.SecretFile != "" || u.SecretEnv != "" || u.TokenURL != "" {
				add(p+".upstream_auth.type", "transparent forwards the caller's token issued for this route; it takes no other credential settings")
			}
			continue
		}
		each(p+".upstream_auth", authz.ValidateUpstream(u.Upstream()))
		if u.ForwardClientToken && u.Type != "" && u.Type != authz.UpstreamNone {
			add(p+".upstream_auth.forward_client_token", "cannot be combined with type %q: the upstream gets one credential", u.Type)
		}
		if u.Type == authz.UpstreamTokenExchange && o == nil {
			add(p+".upstream_auth.type", "token_exchange exchanges the caller's OAuth token: it needs identity.oauth")
		}
		if u.Type == authz.UpstreamDelegated {
			if c.Identity.UpstreamOAuth == nil {
				add(p+".upstream_auth.type", "user_delegated needs identity.upstream_oauth (the key that seals the users' upstream tokens)")
			}
			if o == nil && c.Identity.JWT == nil && c.Identity.SPIFFE == nil && c.Identity.Header == nil {
				add(p+".upstream_auth.type", "user_delegated keeps one upstream grant per caller: it needs an identity (identity.oauth, jwt or spiffe)")
			}
		}
	}
}

// validateUpstreamOAuth checks identity.upstream_oauth.
func (c *Config) validateUpstreamOAuth(add func(path, format string, args ...any)) {
	u := c.Identity.UpstreamOAuth
	if u == nil {
		return
	}
	const p = "identity.upstream_oauth"
	if base := c.UpstreamOAuthURL(); base == "" {
		add(p+".public_url", "is required without identity.oauth: the public URL browsers reach the gateway's consent pages at")
	} else if pu, err := url.Parse(base); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" || (pu.Path != "" && pu.Path != "/") || pu.RawQuery != "" || pu.Fragment != "" {
		add(p+".public_url", "%q must be an absolute http(s) URL with no path, query or fragment", base)
	}
	if (u.KeyFile == "") == (u.KeyEnv == "") {
		add(p+".key_file", "set exactly one of key_file and key_env")
	} else if _, err := u.Key(); err != nil {
		add(p+".key_file", "%v", err)
	}
	switch c.UpstreamOAuthStore() {
	case StoreMemory:
	case StoreRedis:
		if !c.State.Redis.Enabled() {
			add(p+".store", "redis needs state.redis")
		}
	default:
		add(p+".store", "must be memory or redis, got %q", u.Store)
	}
	if u.ConsentTTL < 0 || u.ConsentTTL > 24*time.Hour {
		add(p+".consent_ttl", "must be between 0 and 24h, got %s", u.ConsentTTL)
	}
	if u.GrantTTL < 0 {
		add(p+".grant_ttl", "must not be negative, got %s", u.GrantTTL)
	}
	if l := u.Login; l != nil {
		if c.Identity.OAuth == nil {
			add(p+".login", "needs identity.oauth: the sign-in happens at its authorization server and its keys verify the result")
		} else if c.Identity.OAuth.JWKSURL == "" && c.Identity.OAuth.JWKSFile == "" {
			add(p+".login", "needs identity.oauth.jwks_url or jwks_file: sign-in tokens are verified as JWTs")
		}
		if l.ClientID == "" {
			add(p+".login.client_id", "is required (the gateway's client at identity.oauth's authorization server)")
		}
		if l.ClientSecretFile != "" && l.ClientSecretEnv != "" {
			add(p+".login.client_secret_file", "set at most one of client_secret_file and client_secret_env")
		}
		switch l.AuthMethod {
		case "", "client_secret_basic", "client_secret_post":
		default:
			add(p+".login.auth_method", "%q is not client_secret_basic or client_secret_post", l.AuthMethod)
		}
	}
}
