package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-mcp/portcullis/authz/jose"
)

// UpstreamTransparent keeps the upstream as the OAuth resource server: the
// caller's token (issued by the upstream's authorization server for the
// gateway's route URL) is forwarded, and the gateway rewrites the
// upstream's challenges and metadata to its own URLs.
const UpstreamTransparent = "transparent"

// transparent fronts one upstream that stays the resource server. It
// discovers the upstream's RFC 9728 metadata and, from it, the
// authorization server and its JWKS, so the caller is still identified
// (and audience-checked) before anything is forwarded.
type transparent struct {
	rs       *ResourceServer
	server   string
	upstream *url.URL

	mu      sync.Mutex
	prm     map[string]any // upstream metadata, as fetched
	fetched time.Time
	// stale: an upstream challenge since the last fetch (re-discover on
	// next use, at most once per prmMinRefetch); challengePRM: the
	// same-origin resource_metadata URL that challenge named.
	stale        bool
	challengePRM string
	issuer       string
	keys         *keyCache
	stopKeys     context.CancelFunc
	// asm is the upstream authorization server's metadata.
	asm        map[string]any
	asmFetched time.Time
	asIssuer   string
}

const prmTTL = 5 * time.Minute

// prmMinRefetch bounds re-discovery triggered by upstream challenges, so a
// stream of unauthenticated requests cannot turn into a metadata fetch each.
const prmMinRefetch = time.Second

// ErrResourceMismatch: the upstream's protected-resource metadata names a
// resource that is not the upstream URL the route is configured for
// (RFC 9728 §3.3). The gateway refuses it instead of presenting the
// metadata under its own URL, which would hide the mismatch from clients.
var ErrResourceMismatch = errors.New("upstream protected-resource metadata names another resource")

// resourceCovers reports whether the PRM resource identifies the upstream
// URL: same scheme, host and port, and the resource's path equal to the
// upstream's path or a parent of it at a segment boundary (the root form
// names the origin). This is the client-side check of the MCP SDKs.
func resourceCovers(resource string, upstream *url.URL) bool {
	r, err := url.Parse(resource)
	if err != nil || r.Fragment != "" || r.RawQuery != "" || !r.IsAbs() {
		return false
	}
	if !strings.EqualFold(r.Scheme, upstream.Scheme) || !strings.EqualFold(hostPort(r), hostPort(upstream)) {
		return false
	}
	rp, up := strings.TrimSuffix(r.Path, "/"), strings.TrimSuffix(upstream.Path, "/")
	return rp == "" || rp == up || strings.HasPrefix(up, rp+"/")
}

func hostPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Host + ":443"
	case "http":
		return u.Host + ":80"
	}
	return u.Host
}

func (rs *ResourceServer) transparentFor(server, upstream string) (*transparent, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream URL: %w", err)
	}
	rs.tmu.Lock()
	defer rs.tmu.Unlock()
	key := server + "\x00" + upstream
	if t := rs.transparents[key]; t != nil {
		return t, nil
	}
	t := &transparent{rs: rs, server: server, upstream: u}
	rs.transparents[key] = t
	return t, nil
}

// upstreamMetadata returns the upstream's protected-resource metadata
// (path-inserted form first, then the root form), cached for prmTTL.
func (t *transparent) upstreamMetadata(ctx context.Context) (map[string]any, error) {
	now := t.rs.cfg.Now()
	t.mu.Lock()
	fresh := now.Sub(t.fetched) < prmTTL && (!t.stale || now.Sub(t.fetched) < prmMinRefetch)
	if t.prm != nil && fresh {
		m := t.prm
		t.mu.Unlock()
		return m, nil
	}
	challenged := t.challengePRM
	t.mu.Unlock()
	m, err := fetchUpstreamPRM(ctx, t.rs.cfg.HTTPClient, t.upstream, challenged)
	if errors.Is(err, ErrResourceMismatch) {
		// Not cached: a fixed upstream is picked up on the next request.
		return nil, err
	}
	if err == nil {
		t.mu.Lock()
		t.prm, t.fetched, t.stale = m, now, false
		t.mu.Unlock()
		return m, nil
	}
	lastErr := err
	t.mu.Lock()
	if t.prm != nil && now.Sub(t.fetched) < prmTTL {
		// A challenge-triggered re-read failed: keep what is still within
		// its TTL rather than fail every request while the upstream hiccups.
		m := t.prm
		t.mu.Unlock()
		return m, nil
	}
	t.mu.Unlock()
	return nil, fmt.Errorf("upstream protected-resource metadata: %w", lastErr)
}

// Metadata is the upstream's metadata with resource set to the gateway's
// route URL (RFC 9728 §3.3: it must equal the URL the client used).
func (t *transparent) Metadata(ctx context.Context) (map[string]any, error) {
	m, err := t.upstreamMetadata(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	out["resource"] = t.rs.ResourceURL(t.server)
	// authorization_servers stays the upstream's: the client registers,
	// authorizes and gets its token there directly, for the gateway's
	// route URL (RFC 8707 resource = the resource above). The gateway does
	// not front the authorization server: a facade would have to be the
	// issuer the client sees (RFC 8414 §3.3) and so sit in the browser
	// leg too, to re-issue the RFC 9207 iss of the authorization response,
	// and it would hide a change of authorization server (SEP-2352)
	// behind its own issuer (docs/authorization.md, "Transparent mode").
	//
	// It validates tokens of the first one only (authServer), so it names
	// only that one.
	if as, _ := m["authorization_servers"].([]any); len(as) > 1 {
		out["authorization_servers"] = as[:1]
	}
	// The gateway refuses DPoP-bound tokens on transparent routes, so it
	// does not pass on a DPoP requirement it would then refuse.
	delete(out, "dpop_bound_access_tokens_required")
	delete(out, "dpop_signing_alg_values_supported")
	return out, nil
}

// authServer returns the upstream's authorization server issuer and its
// metadata (cached with the protected-resource metadata).
func (t *transparent) authServer(ctx context.Context) (string, map[string]any, error) {
	prm, err := t.upstreamMetadata(ctx)
	if err != nil {
		return "", nil, err
	}
	now := t.rs.cfg.Now()
	as, _ := prm["authorization_servers"].([]any)
	iss, _ := as[0].(string)
	t.mu.Lock()
	if t.asm != nil && t.asIssuer == iss && now.Sub(t.asmFetched) < prmTTL {
		asm := t.asm
		t.mu.Unlock()
		return iss, asm, nil
	}
	t.mu.Unlock()
	asm, err := authServerMetadata(ctx, t.rs.cfg.HTTPClient, iss)
	if err != nil {
		return "", nil, err
	}
	t.mu.Lock()
	t.asm, t.asmFetched, t.asIssuer = asm, now, iss
	t.mu.Unlock()
	return iss, asm, nil
}

// RewriteChallenge points an upstream WWW-Authenticate challenge's
// resource_metadata at the gateway's metadata URL for this route.
func (t *transparent) RewriteChallenge(h string) string {
	const key = `resource_metadata="`
	i := strings.Index(strings.ToLower(h), key)
	t.noteChallenge(h, i, len(key))
	if i < 0 {
		sep := ", "
		if !strings.Contains(strings.TrimSpace(h), " ") {
			sep = " "
		}
		return h + sep + key + t.rs.MetadataURL(t.server) + `"`
	}
	j := strings.IndexByte(h[i+len(key):], '"')
	if j < 0 {
		return h[:i] + key + t.rs.MetadataURL(t.server) + `"`
	}
	return h[:i] + key + t.rs.MetadataURL(t.server) + h[i+len(key)+j:]
}

// noteChallenge marks the cached upstream metadata stale (its
// authorization server may have changed; re-discovered on next use) and
// remembers a same-origin resource_metadata URL from the challenge (a URL
// on another host is not fetched by the gateway).
func (t *transparent) noteChallenge(h string, i, klen int) {
	var prm string
	if i >= 0 {
		if j := strings.IndexByte(h[i+klen:], '"'); j > 0 {
			if u, err := url.Parse(h[i+klen : i+klen+j]); err == nil && u.IsAbs() && strings.EqualFold(u.Scheme, t.upstream.Scheme) && strings.EqualFold(hostPort(u), hostPort(t.upstream)) {
				u.Fragment = ""
				prm = u.String()
			}
		}
	}
	t.mu.Lock()
	t.stale = true
	if prm != "" {
		t.challengePRM = prm
	}
	t.mu.Unlock()
}

// authenticate identifies the caller of a transparent route. No token:
// nil principal (the upstream challenges, rewritten). A token must be a
// JWT from the upstream's authorization server whose audience is this
// route (or the upstream's own resource).
func (t *transparent) authenticate(ctx context.Context, r Request) (*Principal, error) {
	raw := strings.TrimSpace(r.Authorization)
	if raw == "" {
		return nil, nil
	}
	scheme, tok, _ := strings.Cut(raw, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, &Error{Status: 401, Code: "invalid_request", Desc: "the Authorization header must be \"Bearer <token>\""}
	}
	if !looksLikeJWT(tok) {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "opaque tokens are not supported on transparent routes: the gateway must identify the caller before forwarding and validates only JWTs signed by the upstream's authorization server (fail closed; the upstream is never the only validator)"}
	}
	keys, issuer, prm, err := t.verifier(ctx)
	if err != nil {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the token could not be validated: " + err.Error()}
	}
	auds := []string{t.rs.ResourceURL(t.server)}
	if res, _ := prm["resource"].(string); res != "" {
		auds = append(auds, res)
	}
	opts := jose.VerifyOptions{Issuer: issuer, Audience: auds, Algorithms: t.rs.algs, Leeway: t.rs.cfg.Leeway, Now: t.rs.cfg.Now()}
	claims, err := jose.VerifyJWT(tok, keys.get(), opts)
	if errors.Is(err, jose.ErrNoKey) {
		if ks, ok := keys.refreshForUnknownKey(ctx); ok {
			claims, err = jose.VerifyJWT(tok, ks, opts)
		}
	}
	if err != nil {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: describe(err, t.rs.ResourceURL(t.server))}
	}
	p, err := t.rs.principal(claims, tok)
	if err != nil {
		return nil, err
	}
	if p.JKT != "" {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "DPoP-bound tokens are not supported on transparent routes"}
	}
	return p, nil
}

// verifier discovers the upstream's authorization server and its keys.
func (t *transparent) verifier(ctx context.Context) (*keyCache, string, map[string]any, error) {
	prm, err := t.upstreamMetadata(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	iss, asm, err := t.authServer(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	t.mu.Lock()
	kc := t.keys
	same := kc != nil && t.issuer == iss
	t.mu.Unlock()
	if same {
		return kc, iss, prm, nil
	}
	// First use, or the upstream moved to another authorization server:
	// its keys and issuer replace the previous ones.
	jwks, _ := asm["jwks_uri"].(string)
	if jwks == "" {
		return nil, "", nil, fmt.Errorf("authorization server %s publishes no jwks_uri", iss)
	}
	cfg := t.rs.cfg
	cfg.JWKSURL, cfg.JWKSFile = jwks, ""
	kctx, stop := context.WithCancel(t.rs.ctx)
	kc, err = newKeyCache(kctx, cfg)
	if err != nil {
		stop()
		return nil, "", nil, err
	}
	t.mu.Lock()
	if t.stopKeys != nil {
		t.stopKeys()
	}
	t.keys, t.issuer, t.stopKeys = kc, iss, stop
	t.mu.Unlock()
	return kc, iss, prm, nil
}

// authServerMetadata fetches RFC 8414 metadata (path insertion), then
// OpenID Connect discovery, and checks the issuer.
func authServerMetadata(ctx context.Context, c *http.Client, issuer string) (map[string]any, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", issuer, err)
	}
	path := strings.TrimSuffix(u.Path, "/")
	var urls []string
	for _, wk := range []string{WellKnownAS, WellKnownOIDC} {
		v := *u
		v.Path = wk + path
		urls = append(urls, v.String())
	}
	if path != "" {
		v := *u
		v.Path = path + WellKnownOIDC
		urls = append(urls, v.String())
	}
	var lastErr error
	for _, mu := range urls {
		var m map[string]any
		if err := getJSON(ctx, c, mu, &m); err != nil {
			lastErr = err
			continue
		}
		if m["issuer"] != issuer {
			return nil, fmt.Errorf("authorization server metadata at %s names issuer %v, want %s", mu, m["issuer"], issuer)
		}
		return m, nil
	}
	return nil, fmt.Errorf("authorization server metadata for %s: %w", issuer, lastErr)
}

func getJSON(ctx context.Context, c *http.Client, u string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return redactURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// AuthenticateTransparent identifies the caller of a transparent route
// whose upstream is upstreamURL (nil principal when no token was sent).
func (rs *ResourceServer) AuthenticateTransparent(ctx context.Context, r Request, upstreamURL string) (*Principal, error) {
	t, err := rs.transparentFor(r.Server, upstreamURL)
	if err != nil {
		return nil, err
	}
	return t.authenticate(ctx, r)
}

// RewriteUpstreamChallenge rewrites an upstream challenge of a transparent route.
func (rs *ResourceServer) RewriteUpstreamChallenge(server, upstreamURL, challenge string) string {
	t, err := rs.transparentFor(server, upstreamURL)
	if err != nil {
		return Challenge{ResourceMetadata: rs.MetadataURL(server)}.String()
	}
	return t.RewriteChallenge(challenge)
}

// TransparentMetadata is the metadata the gateway serves for a transparent route.
func (rs *ResourceServer) TransparentMetadata(ctx context.Context, server, upstreamURL string) (map[string]any, error) {
	t, err := rs.transparentFor(server, upstreamURL)
	if err != nil {
		return nil, err
	}
	return t.Metadata(ctx)
}

func mcpTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
