package authz

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-mcp/portcullis/authz/jose"
)

// Config configures the resource server. Validate reports every problem.
type Config struct {
	// Resource is the gateway's public base URL as clients reach it
	// (scheme://host[:port], no path). The resource of server s is
	// Resource + "/mcp/" + s: that is what clients send as the RFC 8707
	// resource parameter and what tokens must name as their audience.
	Resource string
	// AuthorizationServers are the issuer URLs listed in the metadata.
	AuthorizationServers []string
	// Issuer is the iss tokens must carry (default AuthorizationServers[0]).
	Issuer string
	// JWT validation: exactly one of JWKSURL and JWKSFile, or neither when
	// only introspection is used.
	JWKSURL  string
	JWKSFile string
	// Algorithms narrows RS256, ES256, EdDSA.
	Algorithms []string
	// Introspection validates opaque tokens (RFC 7662). Optional.
	Introspection *IntrospectionConfig
	// Scopes are required on every server; ServerScopes adds scopes per
	// server name, ToolScopes per server and tool (checked on tools/call).
	Scopes       []string
	ServerScopes map[string][]string
	ToolScopes   map[string]map[string][]string
	// ScopesSupported is advertised in the metadata (default: every scope
	// named above).
	ScopesSupported []string
	// AcceptBaseAudience also accepts tokens whose audience is Resource
	// itself (one token for every server on this gateway). Off by default:
	// a token is bound to one MCP endpoint.
	AcceptBaseAudience bool
	// RequireDPoP refuses bearer tokens that are not DPoP-bound.
	RequireDPoP bool
	// Leeway is the clock skew allowed for exp, nbf and DPoP iat (default 30 s).
	Leeway time.Duration
	// RefreshInterval is how often the JWKS is refetched in the background
	// (default 5 min); UnknownKeyWait bounds how long a request with an
	// unknown key id waits for a refresh (default 2 s).
	RefreshInterval time.Duration
	UnknownKeyWait  time.Duration
	// Claims mapped into the policy jose.
	GroupsClaim, RolesClaim, TrustClaim string // default groups, roles, trust
	DefaultTrust                        string // default medium
	// HTTPClient reaches the JWKS and introspection endpoints (default: 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Report is told about refusals that happen outside a request's
	// pipeline, such as an upstream whose protected-resource metadata
	// names another resource (optional; the gateway logs them).
	Report func(server string, err error)
}

// IntrospectionConfig reaches an RFC 7662 endpoint.
type IntrospectionConfig struct {
	URL          string
	ClientID     string
	ClientSecret string // never logged
	// CacheSize bounds cached results (default 10000); CacheTTL bounds how
	// long an active result is reused (default 60 s, never past exp).
	CacheSize int
	CacheTTL  time.Duration
}

// Algorithms accepted for JWTs and DPoP proofs.
var defaultAlgs = []string{"RS256", "ES256", "EdDSA"}

// Validate reports every problem in c, each with its field name.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if u, err := url.Parse(c.Resource); c.Resource == "" {
		add("resource", "is required: the gateway's public base URL, e.g. https://mcp.example.com")
	} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		add("resource", "%q must be an absolute http(s) URL with no path, query or fragment", c.Resource)
	}
	if len(c.AuthorizationServers) == 0 {
		add("authorization_servers", "at least one issuer URL is required")
	}
	for i, s := range c.AuthorizationServers {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			add(fmt.Sprintf("authorization_servers[%d]", i), "%q must be an absolute http(s) URL without query or fragment", s)
		}
	}
	if c.JWKSURL != "" && c.JWKSFile != "" {
		add("jwks_url", "set at most one of jwks_url and jwks_file")
	}
	if c.JWKSURL == "" && c.JWKSFile == "" && c.Introspection == nil {
		add("jwks_url", "set jwks_url or jwks_file (JWT access tokens), introspection (opaque tokens), or both")
	}
	for i, a := range c.Algorithms {
		if !slices.Contains(defaultAlgs, a) {
			add(fmt.Sprintf("algorithms[%d]", i), "%q is not allowed (RS256, ES256, EdDSA)", a)
		}
	}
	if in := c.Introspection; in != nil {
		if u, err := url.Parse(in.URL); in.URL == "" || err != nil || u.Host == "" {
			add("introspection.url", "%q must be an absolute URL", in.URL)
		}
		if in.ClientID == "" {
			add("introspection.client_id", "is required (RFC 7662 §2.1: the resource server authenticates)")
		}
		if in.CacheSize < 0 {
			add("introspection.cache_size", "must not be negative")
		}
	}
	for _, s := range c.Scopes {
		if !validScope(s) {
			add("scopes", "%q is not a valid scope token", s)
		}
	}
	for name, ss := range c.ServerScopes {
		for _, s := range ss {
			if !validScope(s) {
				add("server_scopes."+name, "%q is not a valid scope token", s)
			}
		}
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		add("leeway", "must be between 0 and 5m")
	}
	return errors.Join(errs...)
}

// ValidScope reports whether s is an RFC 6749 §3.3 scope-token.
func ValidScope(s string) bool { return validScope(s) }

// validScope is RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ResourceServer validates access tokens for the gateway's MCP routes.
// It is safe for concurrent use.
type ResourceServer struct {
	cfg   Config
	keys  *keyCache
	intro *introspector
	// verified caches JWTs whose signature checked out (by SHA-256), so a
	// session's requests do not each pay for a signature; time, issuer and
	// audience are re-checked on every use.
	verified *ttlCache[jose.Claims]
	// transparent routes, by server and upstream URL; ctx bounds their
	// background JWKS refreshes.
	ctx          context.Context
	tmu          sync.Mutex
	transparents map[string]*transparent
	jti          *replayCache
	algs         []string
}

// New validates cfg, loads the keys (a JWKS URL that is down at start is an
// error: there is nothing cached yet) and starts the background refresh,
// which stops when ctx ends.
func New(ctx context.Context, cfg Config) (*ResourceServer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Resource = strings.TrimSuffix(cfg.Resource, "/")
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.AuthorizationServers[0]
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 5 * time.Minute
	}
	if cfg.UnknownKeyWait <= 0 {
		cfg.UnknownKeyWait = 2 * time.Second
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.TrustClaim == "" {
		cfg.TrustClaim = "trust"
	}
	if cfg.DefaultTrust == "" {
		cfg.DefaultTrust = "medium"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.ScopesSupported) == 0 {
		cfg.ScopesSupported = allScopes(&cfg)
	}
	rs := &ResourceServer{cfg: cfg, jti: newReplayCache(100000), algs: cfg.Algorithms, verified: newTTLCache[jose.Claims](10000),
		ctx: ctx, transparents: map[string]*transparent{}}
	if len(rs.algs) == 0 {
		rs.algs = defaultAlgs
	}
	if cfg.JWKSURL != "" || cfg.JWKSFile != "" {
		kc, err := newKeyCache(ctx, cfg)
		if err != nil {
			return nil, err
		}
		rs.keys = kc
	}
	if cfg.Introspection != nil {
		rs.intro = newIntrospector(cfg)
	}
	return rs, nil
}

func allScopes(c *Config) []string {
	var out []string
	addAll := func(ss []string) {
		for _, s := range ss {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	addAll(c.Scopes)
	for _, name := range sortedKeys(c.ServerScopes) {
		addAll(c.ServerScopes[name])
	}
	for _, name := range sortedKeys(c.ToolScopes) {
		for _, tool := range sortedKeys(c.ToolScopes[name]) {
			addAll(c.ToolScopes[name][tool])
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// ResourceURL is the canonical resource URL of a server route ("" = the
// gateway's base resource).
func (rs *ResourceServer) ResourceURL(server string) string {
	if server == "" {
		return rs.cfg.Resource
	}
	return rs.cfg.Resource + "/mcp/" + server
}

// MetadataURL is where the route's RFC 9728 metadata is served.
func (rs *ResourceServer) MetadataURL(server string) string {
	if server == "" {
		return rs.cfg.Resource + WellKnownPRM
	}
	return rs.cfg.Resource + WellKnownPRM + "/mcp/" + server
}

// Metadata is the RFC 9728 document for a route ("" = the root form).
func (rs *ResourceServer) Metadata(server string) ProtectedResourceMetadata {
	m := ProtectedResourceMetadata{
		Resource:                      rs.ResourceURL(server),
		AuthorizationServers:          rs.cfg.AuthorizationServers,
		ScopesSupported:               rs.cfg.ScopesSupported,
		BearerMethodsSupported:        []string{"header"},
		ResourceName:                  "Portcullis MCP gateway",
		DPoPSigningAlgValuesSupported: rs.algs,
		DPoPBoundAccessTokensRequired: rs.cfg.RequireDPoP,
	}
	if server != "" {
		m.ResourceName = "Portcullis MCP gateway: " + server
		m.ScopesSupported = rs.RequiredScopes(server)
		for _, tool := range sortedKeys(rs.cfg.ToolScopes[server]) {
			m.ScopesSupported = union(m.ScopesSupported, rs.cfg.ToolScopes[server][tool])
		}
		if len(m.ScopesSupported) == 0 {
			m.ScopesSupported = rs.cfg.ScopesSupported
		}
	}
	return m
}

// RequiredScopes are the scopes every request to server needs.
func (rs *ResourceServer) RequiredScopes(server string) []string {
	out := slices.Clone(rs.cfg.Scopes)
	for _, s := range rs.cfg.ServerScopes[server] {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// ToolScopes are the extra scopes a tools/call of tool on server needs.
func (rs *ResourceServer) ToolScopes(server, tool string) []string {
	return rs.cfg.ToolScopes[server][tool]
}

// Request is what the resource server reads from an HTTP request.
type Request struct {
	Server        string // route name
	Method        string // HTTP method (for DPoP htm)
	Path          string // request path, query ignored (for DPoP htu)
	Authorization string // the Authorization header value
	DPoP          string // the DPoP header value (a proof JWT)
	DPoPCount     int    // number of DPoP headers (more than one is refused)
	// Scopes the route needs beyond Config.Scopes; nil means
	// Config.ServerScopes[Server]. Callers pass the live configuration
	// here so a reload takes effect at once.
	Scopes []string
}

func (rs *ResourceServer) need(r Request) []string {
	if r.Scopes == nil {
		return rs.RequiredScopes(r.Server)
	}
	return union(rs.cfg.Scopes, r.Scopes)
}

// Error is a refusal with what the challenge needs. Its message never
// contains the token.
type Error struct {
	Status int    // 401, 403 or 400
	Code   string // RFC 6750 error code ("" when no token was sent)
	Desc   string
	Scope  []string
	DPoP   bool // answer with a DPoP challenge
}

func (e *Error) Error() string {
	if e.Code == "" {
		return e.Desc
	}
	return e.Code + ": " + e.Desc
}

// Challenge builds the WWW-Authenticate challenge for err on server.
func (rs *ResourceServer) Challenge(server string, err error) Challenge {
	c := Challenge{ResourceMetadata: rs.MetadataURL(server), Scope: rs.RequiredScopes(server)}
	var e *Error
	if errors.As(err, &e) {
		c.Error, c.ErrorDescription = e.Code, e.Desc
		if len(e.Scope) > 0 {
			c.Scope = e.Scope
		}
		if e.DPoP {
			c.Scheme, c.Algs = "DPoP", rs.algs
		}
	} else if err != nil {
		c.Error, c.ErrorDescription = "invalid_token", err.Error()
	}
	return c
}

// Principal is a validated caller.
type Principal struct {
	Subject  string
	ClientID string
	// Actor is the delegation chain from the token's act claim, outermost
	// first (RFC 8693 §4.1).
	Actor    []string
	Issuer   string
	Audience []string
	Scopes   []string
	Expiry   time.Time
	// JKT is the DPoP key thumbprint the token is bound to ("" = bearer).
	JKT string
	// Groups, Roles and Trust come from the configured claims; they become
	// the policy identity (with Subject as its id).
	Groups, Roles []string
	Trust         string
	token         string
}

// SubjectToken is the validated access token, for RFC 8693 token exchange
// only. It must never be forwarded to an upstream.
func (p *Principal) SubjectToken() string { return p.token }

// String describes the principal without its token.
func (p *Principal) String() string {
	return fmt.Sprintf("sub=%q client_id=%q act=%v scopes=%v", p.Subject, p.ClientID, p.Actor, p.Scopes)
}

// Missing reports the scopes of need that p lacks.
func (p *Principal) Missing(need []string) []string {
	var out []string
	for _, s := range need {
		if !slices.Contains(p.Scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

// Authenticate validates the request's token for r.Server. Errors are
// *Error values.
func (rs *ResourceServer) Authenticate(ctx context.Context, r Request) (*Principal, error) {
	raw := strings.TrimSpace(r.Authorization)
	if raw == "" {
		return nil, &Error{Status: 401, Desc: "this MCP endpoint requires an OAuth access token; discover how to get one at " + rs.MetadataURL(r.Server),
			Scope: rs.need(r), DPoP: rs.cfg.RequireDPoP}
	}
	scheme, tok, _ := strings.Cut(raw, " ")
	tok = strings.TrimSpace(tok)
	dpopScheme := strings.EqualFold(scheme, "DPoP")
	if !strings.EqualFold(scheme, "Bearer") && !dpopScheme || tok == "" {
		return nil, &Error{Status: 401, Code: "invalid_request", Desc: "the Authorization header must be \"Bearer <token>\" or \"DPoP <token>\""}
	}
	if rs.cfg.RequireDPoP && !dpopScheme {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "this resource requires DPoP-bound access tokens", DPoP: true}
	}
	p, err := rs.validate(ctx, r.Server, tok)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.DPoP = e.DPoP || dpopScheme
			return nil, e
		}
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: err.Error(), DPoP: dpopScheme}
	}
	switch {
	case p.JKT != "" && !dpopScheme:
		// RFC 9449 §7.1: a DPoP-bound token used as a bearer token is refused.
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "this token is DPoP-bound; send it with the DPoP scheme and a proof", DPoP: true}
	case dpopScheme && p.JKT == "":
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the DPoP scheme was used with a token that is not DPoP-bound (no cnf.jkt)", DPoP: true}
	case dpopScheme:
		if err := rs.checkProof(r, tok, p.JKT); err != nil {
			return nil, &Error{Status: 401, Code: "invalid_dpop_proof", Desc: err.Error(), DPoP: true}
		}
	}
	if miss := p.Missing(rs.need(r)); len(miss) > 0 {
		return nil, &Error{Status: 403, Code: "insufficient_scope", Desc: "the token lacks scope " + strings.Join(miss, " "),
			Scope: union(p.Scopes, rs.need(r)), DPoP: dpopScheme}
	}
	return p, nil
}

// CheckTool refuses a tools/call the principal lacks the tool's scopes for
// (403 insufficient_scope, step-up). need are the tool's scopes (nil:
// Config.ToolScopes).
func (rs *ResourceServer) CheckTool(p *Principal, server, tool string, need []string) error {
	if need == nil {
		need = rs.ToolScopes(server, tool)
	}
	if len(need) == 0 || p == nil {
		if len(need) > 0 {
			return &Error{Status: 403, Code: "insufficient_scope", Desc: "tool " + tool + " needs scope " + strings.Join(need, " "), Scope: need}
		}
		return nil
	}
	if miss := p.Missing(need); len(miss) > 0 {
		return &Error{Status: 403, Code: "insufficient_scope", Desc: "tool " + tool + " needs scope " + strings.Join(miss, " "),
			Scope: union(union(p.Scopes, rs.RequiredScopes(server)), need), DPoP: p.JKT != ""}
	}
	return nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// audiences are the accepted aud values for server.
func (rs *ResourceServer) audiences(server string) []string {
	out := []string{rs.ResourceURL(server)}
	if rs.cfg.AcceptBaseAudience {
		out = append(out, rs.cfg.Resource, rs.cfg.Resource+"/")
	}
	return out
}

// validate checks a token's signature or introspection result and its
// claims and returns the principal (scopes not yet checked).
func (rs *ResourceServer) validate(ctx context.Context, server, tok string) (*Principal, error) {
	if looksLikeJWT(tok) && rs.keys != nil {
		return rs.validateJWT(ctx, server, tok)
	}
	if rs.intro != nil {
		return rs.intro.validate(ctx, rs, server, tok)
	}
	if rs.keys != nil {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "malformed token: not a JWT, and no introspection endpoint is configured for opaque tokens"}
	}
	return nil, &Error{Status: 401, Code: "invalid_token", Desc: "no way to validate this token"}
}

// looksLikeJWT: three base64url parts whose header decodes as a JWS header.
func looksLikeJWT(tok string) bool {
	if strings.Count(tok, ".") != 2 {
		return false
	}
	_, err := jose.ParseJWSHeader(tok)
	return err == nil
}

// verifiedTTL bounds how long a verified signature is trusted without
// checking again (a key removed from the JWKS stops working within it).
const verifiedTTL = 60 * time.Second

func (rs *ResourceServer) validateJWT(ctx context.Context, server, tok string) (*Principal, error) {
	now := rs.cfg.Now()
	opts := jose.VerifyOptions{Issuer: rs.cfg.Issuer, Audience: rs.audiences(server), Algorithms: rs.algs, Leeway: rs.cfg.Leeway, Now: now}
	k := sha256.Sum256([]byte(tok))
	if c, ok := rs.verified.get(k, now); ok {
		if err := jose.CheckClaims(c, opts); err != nil {
			return nil, &Error{Status: 401, Code: "invalid_token", Desc: describe(err, rs.ResourceURL(server))}
		}
		return rs.principal(c, tok)
	}
	claims, err := jose.VerifyJWT(tok, rs.keys.get(), opts)
	if errors.Is(err, jose.ErrNoKey) {
		if ks, ok := rs.keys.refreshForUnknownKey(ctx); ok {
			claims, err = jose.VerifyJWT(tok, ks, opts)
		}
	}
	if err != nil {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: describe(err, rs.ResourceURL(server))}
	}
	rs.verified.put(k, claims, cacheUntil(claims, now.Add(verifiedTTL)), now)
	return rs.principal(claims, tok)
}

// describe turns a verification error into a client-facing description
// that says what to do (the audience case names the expected resource).
func describe(err error, resource string) string {
	switch {
	case errors.Is(err, jose.ErrAudience):
		return "the token's audience is not this resource; request a token with resource=" + resource + " (RFC 8707)"
	case errors.Is(err, jose.ErrIssuer):
		return "the token was not issued by this resource's authorization server"
	case errors.Is(err, jose.ErrExpired):
		return "the token has expired"
	}
	return err.Error()
}

// principal maps validated claims (JWT or introspection) to a Principal.
func (rs *ResourceServer) principal(c map[string]any, tok string) (*Principal, error) {
	sub, _ := c["sub"].(string)
	cid := jose.ClientID(c)
	if sub == "" {
		sub = cid // client-credentials tokens may name only the client
	}
	if sub == "" {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the token has no sub or client_id claim"}
	}
	p := &Principal{Subject: sub, ClientID: cid, token: tok,
		Scopes: jose.StringList(c["scope"]), Audience: jose.StringList(c["aud"])}
	if len(p.Scopes) == 0 {
		p.Scopes = jose.StringList(c["scp"])
	}
	p.Issuer, _ = c["iss"].(string)
	if exp, ok := c["exp"].(float64); ok {
		p.Expiry = time.Unix(int64(exp), 0)
	}
	if cnf, ok := c["cnf"].(map[string]any); ok {
		p.JKT, _ = cnf["jkt"].(string)
		if _, x5t := cnf["x5t#S256"]; x5t && p.JKT == "" {
			return nil, &Error{Status: 401, Code: "invalid_token", Desc: "certificate-bound tokens (cnf.x5t#S256) are not supported"}
		}
	}
	p.Actor = jose.ActorChain(c)
	p.Trust = rs.cfg.DefaultTrust
	p.Groups, p.Roles = jose.StringList(c[rs.cfg.GroupsClaim]), jose.StringList(c[rs.cfg.RolesClaim])
	if t, _ := c[rs.cfg.TrustClaim].(string); t != "" {
		p.Trust = t
	}
	return p, nil
}

// VerifyLogin validates a token that the gateway itself obtained for a
// person signing in (the consent page of user-delegated OAuth,
// ConsentLogin): a JWT from identity.oauth's issuer whose audience is the
// gateway's own URL (Resource), unexpired. It returns the principal id,
// the same one callers with that person's tokens get.
func (rs *ResourceServer) VerifyLogin(ctx context.Context, tok string) (string, error) {
	if rs.keys == nil || !looksLikeJWT(tok) {
		return "", errors.New("sign-in tokens are validated as JWTs against identity.oauth's keys (jwks_url or jwks_file)")
	}
	opts := jose.VerifyOptions{Issuer: rs.cfg.Issuer, Audience: []string{rs.cfg.Resource, rs.cfg.Resource + "/"}, Algorithms: rs.algs, Leeway: rs.cfg.Leeway, Now: rs.cfg.Now()}
	claims, err := jose.VerifyJWT(tok, rs.keys.get(), opts)
	if errors.Is(err, jose.ErrNoKey) {
		if ks, ok := rs.keys.refreshForUnknownKey(ctx); ok {
			claims, err = jose.VerifyJWT(tok, ks, opts)
		}
	}
	if err != nil {
		return "", fmt.Errorf("sign-in token: %w", err)
	}
	p, err := rs.principal(claims, tok)
	if err != nil {
		return "", err
	}
	if p.JKT != "" {
		return "", errors.New("sign-in token is DPoP-bound")
	}
	return p.Subject, nil
}
