package authz

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// UpstreamDelegated is user-delegated upstream OAuth: the gateway runs the
// authorization-code flow with PKCE against the upstream's authorization
// server on the user's behalf and presents the user's own upstream token.
const UpstreamDelegated = "user_delegated"

// TokenStore keeps the delegated grants (sealed refresh and access tokens)
// and the pending consents, each with a lifetime. MemoryStore is one
// replica's; a Redis store (authz/redisstore) is shared by every replica.
// Values are already encrypted and bound to their key by the caller.
type TokenStore interface {
	// Get returns the value under key (ok=false when absent or expired).
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	// Set stores val under key for ttl.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Take returns the value under key and removes it, atomically: a
	// pending consent is used at most once.
	Take(ctx context.Context, key string) (val []byte, ok bool, err error)
	// Delete removes key.
	Delete(ctx context.Context, key string) error
}

// ConsentRequiredError says the user must grant the gateway access to the
// upstream first: URL is the gateway's consent page (URL-mode elicitation).
type ConsentRequiredError struct {
	Server string
	// ID names the pending consent (the elicitationId).
	ID  string
	URL string
}

func (e *ConsentRequiredError) Error() string {
	return "upstream " + e.Server + " needs the user's consent: open " + e.URL + " and grant access, then retry"
}

// DelegationOptions configure a Delegation.
type DelegationOptions struct {
	// BaseURL is the gateway's public URL as a browser reaches it (no
	// path); the consent pages are BaseURL+ConsentPath and
	// BaseURL+CallbackPath (the redirect URI to register at the upstream's
	// authorization server).
	BaseURL string
	// Key (32 bytes) encrypts every stored grant and consent (AES-256-GCM)
	// and names them (HMAC), so the store never sees a token, a principal
	// or a server name in clear.
	Key []byte
	// Store holds grants and pending consents (default: a MemoryStore).
	Store TokenStore
	// Lookup returns a server's live credential configuration (reloads
	// apply); ok=false when the server is gone.
	Lookup func(server string) (UpstreamConfig, bool)
	// ConsentTTL bounds how long a consent link works (default 10 min);
	// GrantTTL how long an unused grant is kept (default 30 days, renewed
	// on every refresh).
	ConsentTTL, GrantTTL time.Duration
	HTTPClient           *http.Client // default: 10 s timeout
	Now                  func() time.Time
	// Login, when set, binds each consent to the person at the browser
	// (delegated_login.go).
	Login *ConsentLogin
}

// Paths of the consent pages under DelegationOptions.BaseURL.
const (
	ConsentPath  = "/oauth/upstream/consent"
	CallbackPath = "/oauth/upstream/callback"
)

// Delegation obtains, stores and refreshes user-delegated upstream tokens.
// It is safe for concurrent use.
type Delegation struct {
	o       DelegationOptions
	aead    cipher.AEAD
	nameKey []byte
	client  *http.Client
	skew    time.Duration
	// stripes serialise refreshes of one grant on this replica, so two
	// concurrent calls do not both spend a (rotating) refresh token.
	stripes [64]sync.Mutex
	// endpoints discovers the authorization server of upstreams that
	// configure no endpoints.
	endpoints *endpointDiscovery
	login     loginEndpoints
}

// NewDelegation checks o and returns a Delegation.
func NewDelegation(o DelegationOptions) (*Delegation, error) {
	if len(o.Key) != 32 {
		return nil, errors.New("delegation key: must be 32 bytes")
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("delegation base URL %q: must be an absolute http(s) URL without a path", o.BaseURL)
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")
	if o.Lookup == nil {
		return nil, errors.New("delegation: no server lookup")
	}
	if l := o.Login; l != nil && (l.Issuer == "" || l.ClientID == "" || l.Verify == nil) {
		return nil, errors.New("delegation login: issuer, client id and a token verifier are required")
	}
	block, err := aes.NewCipher(o.Key)
	if err != nil {
		return nil, fmt.Errorf("delegation key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("delegation key: %w", err)
	}
	if o.Store == nil {
		o.Store = NewMemoryStore(100000)
	}
	if o.ConsentTTL <= 0 {
		o.ConsentTTL = 10 * time.Minute
	}
	if o.GrantTTL <= 0 {
		o.GrantTTL = 30 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Delegation{o: o, aead: aead, client: o.HTTPClient, skew: 30 * time.Second}
	if d.client == nil {
		d.client = &http.Client{Timeout: 10 * time.Second}
	}
	d.endpoints = &endpointDiscovery{client: d.client, now: o.Now, cache: map[string]discovered{}}
	nk := sha256.Sum256(append([]byte("portcullis/delegation/names\x00"), o.Key...))
	d.nameKey = nk[:]
	return d, nil
}

// RedirectURL is the callback to register at upstream authorization servers.
func (d *Delegation) RedirectURL() string { return d.o.BaseURL + CallbackPath }

// LoginRedirectURL is the redirect URI to register for the login client
// at the gateway's own authorization server ("" without ConsentLogin).
func (d *Delegation) LoginRedirectURL() string {
	if d.o.Login == nil {
		return ""
	}
	return d.o.BaseURL + LoginPath
}

func (d *Delegation) secureCookies() bool { return strings.HasPrefix(d.o.BaseURL, "https://") }

// grant is what is stored per principal and server (sealed).
type grant struct {
	Access  string `json:"a,omitempty"`
	Until   int64  `json:"u,omitempty"` // unix seconds: stop using Access
	Refresh string `json:"r,omitempty"`
	// Client binds the grant to the configuration that obtained it: a
	// changed token endpoint or client id asks for consent again.
	Client string `json:"c"`
}

// pending is a consent in progress (sealed, single use).
type pending struct {
	Principal string `json:"p"`
	Server    string `json:"s"`
	Verifier  string `json:"v"`
	Client    string `json:"c"`
}

func clientBinding(cfg UpstreamConfig) string {
	return cfg.TokenURL + "\x00" + cfg.AuthorizationURL + "\x00" + cfg.ClientID
}

// name is a keyed digest of parts: store keys reveal nothing.
func (d *Delegation) name(kind string, parts ...string) string {
	m := hmac.New(sha256.New, d.nameKey)
	m.Write([]byte(kind))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return kind + ":" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (d *Delegation) seal(v any, aad string) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, d.aead.NonceSize(), d.aead.NonceSize()+len(plain)+d.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return d.aead.Seal(nonce, nonce, plain, []byte(aad)), nil
}

// open decrypts a sealed value; aad binds it to its principal and server
// (or consent id), so a value copied under another key does not open.
func (d *Delegation) open(b []byte, aad string, v any) error {
	n := d.aead.NonceSize()
	if len(b) < n+d.aead.Overhead() {
		return errors.New("sealed value too short")
	}
	plain, err := d.aead.Open(nil, b[:n], b[n:], []byte(aad))
	if err != nil {
		return errors.New("sealed value does not open with this key and binding")
	}
	return json.Unmarshal(plain, v)
}

func grantAAD(principal, server string) string {
	return "portcullis/grant/v1\x00" + principal + "\x00" + server
}

func (d *Delegation) stripe(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &d.stripes[h.Sum32()%uint32(len(d.stripes))]
}

// Token returns the principal's access token for server: the stored one
// while it is valid, else one refreshed with the stored refresh token. With
// no usable grant it returns a *ConsentRequiredError naming the consent
// page. principal must be the authenticated caller's identity.
func (d *Delegation) Token(ctx context.Context, server string, cfg UpstreamConfig, principal string) (string, error) {
	if principal == "" {
		return "", errors.New("user-delegated upstream OAuth needs an authenticated caller (configure identity)")
	}
	cfg, err := d.endpoints.resolve(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("discover the authorization server of %s: %w", server, err)
	}
	key := d.name("grant", principal, server)
	mu := d.stripe(key)
	mu.Lock()
	defer mu.Unlock()
	raw, ok, err := d.o.Store.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errStore, err)
	}
	var g grant
	if ok {
		if err := d.open(raw, grantAAD(principal, server), &g); err != nil || g.Client != clientBinding(cfg) {
			ok = false // another key, tampered, or another upstream client: consent again
		}
	}
	if ok {
		now := d.o.Now()
		if g.Access != "" && now.Unix() < g.Until {
			return g.Access, nil
		}
		if g.Refresh != "" {
			tok, err := d.refresh(ctx, key, principal, server, cfg, g)
			if err == nil {
				return tok, nil
			}
			var oe *oauthError
			if !errors.As(err, &oe) || oe.Code != "invalid_grant" {
				return "", err
			}
			// The refresh token was revoked or expired: ask again.
			_ = d.o.Store.Delete(ctx, key)
		}
	}
	return "", d.newConsent(ctx, server, cfg, principal)
}

func (d *Delegation) refresh(ctx context.Context, key, principal, server string, cfg UpstreamConfig, g grant) (string, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.Refresh}}
	if cfg.Resource != "" {
		form.Set("resource", cfg.Resource)
	}
	tr, err := postToken(ctx, d.client, cfg, form)
	if err != nil {
		return "", fmt.Errorf("refresh at %s: %w", hostOf(cfg.TokenURL), err)
	}
	ng := grant{Access: tr.AccessToken, Until: tr.until(d.o.Now(), d.skew).Unix(), Refresh: g.Refresh, Client: g.Client}
	if tr.RefreshToken != "" {
		ng.Refresh = tr.RefreshToken // rotated (OAuth 2.1 §4.3.1)
	}
	if err := d.store(ctx, key, principal, server, ng); err != nil {
		return "", err
	}
	return ng.Access, nil
}

func (d *Delegation) store(ctx context.Context, key, principal, server string, g grant) error {
	sealed, err := d.seal(g, grantAAD(principal, server))
	if err != nil {
		return fmt.Errorf("seal delegated grant: %w", err)
	}
	if err := d.o.Store.Set(ctx, key, sealed, d.o.GrantTTL); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	return nil
}

// Revoke forgets the principal's grant for server (the upstream's own
// tokens are not revoked there).
func (d *Delegation) Revoke(ctx context.Context, server, principal string) error {
	return d.o.Store.Delete(ctx, d.name("grant", principal, server))
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (d *Delegation) newConsent(ctx context.Context, server string, cfg UpstreamConfig, principal string) error {
	// A caller retrying before consenting gets the same link while it has
	// at least half its life left: at most about two pending consents per
	// principal and server, however often the agent retries.
	ptr := d.name("pending", principal, server)
	ptrAAD := "portcullis/pending/v1\x00" + principal + "\x00" + server
	if raw, ok, err := d.o.Store.Get(ctx, ptr); err == nil && ok {
		var id string
		if d.open(raw, ptrAAD, &id) == nil {
			if _, live, err := d.o.Store.Get(ctx, "consent:"+id); err == nil && live {
				return &ConsentRequiredError{Server: server, ID: id, URL: d.o.BaseURL + ConsentPath + "?id=" + id}
			}
		}
	}
	id, err := randomString(24)
	if err != nil {
		return err
	}
	verifier, err := randomString(32) // 43 characters, RFC 7636 §4.1
	if err != nil {
		return err
	}
	sealed, err := d.seal(pending{Principal: principal, Server: server, Verifier: verifier, Client: clientBinding(cfg)}, "portcullis/consent/v1\x00"+id)
	if err != nil {
		return err
	}
	if err := d.o.Store.Set(ctx, "consent:"+id, sealed, d.o.ConsentTTL); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	if p, err := d.seal(id, ptrAAD); err == nil {
		_ = d.o.Store.Set(ctx, ptr, p, d.o.ConsentTTL/2) // best effort: without it, the next retry mints another link
	}
	return &ConsentRequiredError{Server: server, ID: id, URL: d.o.BaseURL + ConsentPath + "?id=" + id}
}

// errStore wraps every token-store failure.
var errStore = errors.New("delegated token store")

var errConsentGone = errors.New("this consent link has expired or was already used; retry the call to get a new one")

// loadConsent reads (or, with take, consumes) a pending consent.
func (d *Delegation) loadConsent(ctx context.Context, id string, take bool) (*pending, error) {
	if id == "" || len(id) > 64 {
		return nil, errors.New("no such consent request")
	}
	get := d.o.Store.Get
	if take {
		get = d.o.Store.Take
	}
	raw, ok, err := get(ctx, "consent:"+id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStore, err)
	}
	if !ok {
		return nil, errConsentGone
	}
	var p pending
	if err := d.open(raw, "portcullis/consent/v1\x00"+id, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// browserBinding is the cookie value that ties the callback to the browser
// that confirmed the consent page.
func (d *Delegation) browserBinding(id string) string {
	m := hmac.New(sha256.New, d.nameKey)
	m.Write([]byte("browser\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func pkceChallenge(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// authorizeURL is the upstream authorization request for a consent.
func (d *Delegation) authorizeURL(cfg UpstreamConfig, id string, p *pending) (string, error) {
	u, err := url.Parse(cfg.AuthorizationURL)
	if err != nil {
		return "", fmt.Errorf("authorization_url: %w", err)
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", cfg.ClientID)
	q.Set("redirect_uri", d.RedirectURL())
	q.Set("state", id)
	q.Set("code_challenge", pkceChallenge(p.Verifier))
	q.Set("code_challenge_method", "S256")
	if len(cfg.Scopes) > 0 {
		q.Set("scope", strings.Join(cfg.Scopes, " "))
	}
	if cfg.Resource != "" {
		q.Set("resource", cfg.Resource)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// complete exchanges the authorization code of a consent and stores the
// grant for its principal and server.
func (d *Delegation) complete(ctx context.Context, p *pending, code string) error {
	cfg, ok := d.lookup(ctx, p.Server)
	if !ok || cfg.Kind != UpstreamDelegated || clientBinding(cfg) != p.Client {
		return fmt.Errorf("server %s no longer uses this upstream authorization server", p.Server)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {d.RedirectURL()}, "code_verifier": {p.Verifier}}
	if cfg.Resource != "" {
		form.Set("resource", cfg.Resource)
	}
	tr, err := postToken(ctx, d.client, cfg, form)
	if err != nil {
		return fmt.Errorf("code exchange at %s: %w", hostOf(cfg.TokenURL), err)
	}
	g := grant{Access: tr.AccessToken, Until: tr.until(d.o.Now(), d.skew).Unix(), Refresh: tr.RefreshToken, Client: p.Client}
	return d.store(ctx, d.name("grant", p.Principal, p.Server), p.Principal, p.Server, g)
}

// lookup is the server's live configuration with discovered endpoints
// (ok=false when the server is gone or discovery fails: a consent cannot
// go on without them).
func (d *Delegation) lookup(ctx context.Context, server string) (UpstreamConfig, bool) {
	cfg, ok := d.o.Lookup(server)
	if !ok || cfg.Kind != UpstreamDelegated {
		return cfg, ok
	}
	cfg, err := d.endpoints.resolve(ctx, cfg)
	return cfg, err == nil
}
