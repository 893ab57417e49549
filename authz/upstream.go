package authz

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Upstream credential kinds.
const (
	UpstreamNone              = "none"
	UpstreamStatic            = "static"
	UpstreamClientCredentials = "client_credentials"
	UpstreamTokenExchange     = "token_exchange"
)

// Token types of RFC 8693.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

// UpstreamConfig is the credential the gateway presents to one upstream.
type UpstreamConfig struct {
	Kind string // none (default), static, client_credentials, token_exchange
	// Header carries the credential (default "authorization").
	Header string
	// Static: the secret comes from SecretFile or SecretEnv; Scheme
	// prefixes it (default "Bearer" for the authorization header, none
	// otherwise).
	SecretFile, SecretEnv string
	Scheme                string
	// OAuth (client_credentials, token_exchange): the upstream
	// authorization server's token endpoint and the gateway's client.
	TokenURL         string
	ClientID         string
	ClientSecretFile string
	ClientSecretEnv  string
	// AuthMethod is client_secret_basic (default) or client_secret_post.
	AuthMethod string
	Scopes     []string
	// Audience and Resource name the upstream in the token request
	// (RFC 8693 audience, RFC 8707 resource).
	Audience string
	Resource string
	// AuthorizationURL is the upstream authorization server's
	// authorization endpoint (user_delegated). With neither it nor
	// TokenURL set, both are discovered from UpstreamURL's
	// protected-resource metadata and its authorization server's metadata.
	AuthorizationURL string
	// UpstreamURL is the upstream MCP server's URL (where user_delegated
	// discovery starts).
	UpstreamURL string
}

// ValidateUpstream reports every problem in c, each with its field name.
func ValidateUpstream(c UpstreamConfig) error {
	var errs []error
	add := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	switch c.Kind {
	case "", UpstreamNone:
		if c.SecretFile != "" || c.SecretEnv != "" || c.TokenURL != "" {
			add("type", "is none, but credential fields are set; set type")
		}
	case UpstreamStatic:
		if (c.SecretFile == "") == (c.SecretEnv == "") {
			add("secret_file", "set exactly one of secret_file and secret_env")
		}
	case UpstreamClientCredentials, UpstreamTokenExchange:
		if u, err := url.Parse(c.TokenURL); c.TokenURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("token_url", "%q must be an absolute http(s) URL", c.TokenURL)
		}
		if c.ClientID == "" {
			add("client_id", "is required")
		}
		if c.ClientSecretFile != "" && c.ClientSecretEnv != "" {
			add("client_secret_file", "set at most one of client_secret_file and client_secret_env")
		}
		switch c.AuthMethod {
		case "", "client_secret_basic", "client_secret_post":
		default:
			add("auth_method", "%q is not client_secret_basic or client_secret_post", c.AuthMethod)
		}
	case UpstreamDelegated:
		// Neither: discovered from the upstream's metadata (discovery.go).
		for _, f := range []struct{ name, v string }{{"authorization_url", c.AuthorizationURL}, {"token_url", c.TokenURL}} {
			if c.AuthorizationURL == "" && c.TokenURL == "" {
				break
			}
			if u, err := url.Parse(f.v); f.v == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
				add(f.name, "%q must be an absolute http(s) URL (or leave authorization_url and token_url both unset to discover them from the upstream's metadata)", f.v)
			}
		}
		if c.ClientID == "" {
			add("client_id", "is required (the gateway's client at the upstream's authorization server)")
		}
		if c.ClientSecretFile != "" && c.ClientSecretEnv != "" {
			add("client_secret_file", "set at most one of client_secret_file and client_secret_env")
		}
		switch c.AuthMethod {
		case "", "client_secret_basic", "client_secret_post":
		default:
			add("auth_method", "%q is not client_secret_basic or client_secret_post", c.AuthMethod)
		}
		if c.Audience != "" {
			add("audience", "is not used by user_delegated (use resource)")
		}
	default:
		add("type", "%q is not one of none, static, client_credentials, token_exchange, user_delegated", c.Kind)
	}
	if c.Header != "" && !validHeaderName(c.Header) {
		add("header", "%q is not a valid header name", c.Header)
	}
	return errors.Join(errs...)
}

func validHeaderName(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return h != "" && !strings.HasPrefix(h, ":")
}

// Credential is a header to set on the upstream request. Value is secret.
type Credential struct {
	Header string
	Value  string
}

// String never shows the value.
func (c Credential) String() string { return c.Header + ": [redacted]" }

// Broker obtains and caches upstream credentials. It is safe for
// concurrent use; providers are created on first use per server and
// configuration, so a reload that changes a server's credential takes
// effect at once.
type Broker struct {
	client *http.Client
	now    func() time.Time
	skew   time.Duration

	mu        sync.Mutex
	providers map[string]*provider
}

// BrokerOptions tune a Broker.
type BrokerOptions struct {
	HTTPClient *http.Client     // default: 10 s timeout
	Now        func() time.Time // default time.Now
	// MaxExchangeCache bounds cached exchanged tokens per server (default 10000).
	MaxExchangeCache int
}

// NewBroker returns an empty broker.
func NewBroker(o BrokerOptions) *Broker {
	b := &Broker{client: o.HTTPClient, now: o.Now, skew: 30 * time.Second, providers: map[string]*provider{}}
	if b.client == nil {
		b.client = &http.Client{Timeout: 10 * time.Second}
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b
}

type cachedToken struct {
	value string
	until time.Time
}

type provider struct {
	cfg UpstreamConfig
	mu  sync.Mutex
	cc  cachedToken              // client_credentials
	tx  map[[32]byte]cachedToken // token exchange, by subject token hash
	// A failed token request is not retried for failBackoff, so a token
	// endpoint that is down is not hammered by every request.
	failErr   error
	failUntil time.Time
}

const failBackoff = 5 * time.Second

// failed reports a recent token-endpoint failure to repeat.
func (pr *provider) failed(now time.Time) error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.failErr != nil && now.Before(pr.failUntil) {
		return pr.failErr
	}
	return nil
}

func (pr *provider) fail(err error, now time.Time) error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.failErr, pr.failUntil = err, now.Add(failBackoff)
	return err
}

const maxExchangeCache = 10000

// Credential returns the header to inject for server, or ok=false when the
// server gets no credential. p is the validated caller (needed for token
// exchange; may be nil otherwise). Errors never contain secrets.
func (b *Broker) Credential(ctx context.Context, server string, cfg UpstreamConfig, p *Principal) (cred Credential, ok bool, err error) {
	if cfg.Kind == "" || cfg.Kind == UpstreamNone {
		return Credential{}, false, nil
	}
	pr := b.provider(server, cfg)
	header := strings.ToLower(cfg.Header)
	if header == "" {
		header = "authorization"
	}
	switch cfg.Kind {
	case UpstreamStatic:
		secret, err := readSecret(cfg.SecretFile, cfg.SecretEnv)
		if err != nil {
			return Credential{}, false, err
		}
		scheme := cfg.Scheme
		if scheme == "" && header == "authorization" {
			scheme = "Bearer"
		}
		if scheme != "" {
			secret = scheme + " " + secret
		}
		return Credential{Header: header, Value: secret}, true, nil
	case UpstreamClientCredentials:
		tok, err := pr.clientCredentials(ctx, b)
		if err != nil {
			return Credential{}, false, err
		}
		return Credential{Header: header, Value: "Bearer " + tok}, true, nil
	case UpstreamTokenExchange:
		if p == nil || p.token == "" {
			return Credential{}, false, errors.New("token exchange needs an authenticated OAuth caller (identity.oauth)")
		}
		tok, err := pr.exchange(ctx, b, p.token)
		if err != nil {
			return Credential{}, false, err
		}
		return Credential{Header: header, Value: "Bearer " + tok}, true, nil
	}
	if cfg.Kind == UpstreamDelegated {
		// Per user, with consent: Delegation.Token, not the broker.
		return Credential{}, false, errors.New("user_delegated credentials come from the user's grant (Delegation), not the broker")
	}
	return Credential{}, false, fmt.Errorf("unknown upstream credential type %q", cfg.Kind)
}

func (b *Broker) provider(server string, cfg UpstreamConfig) *provider {
	key := server + "\x00" + fmt.Sprintf("%#v", cfg)
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.providers[key]; p != nil {
		return p
	}
	// Drop providers of an older configuration of the same server.
	for k := range b.providers {
		if strings.HasPrefix(k, server+"\x00") {
			delete(b.providers, k)
		}
	}
	p := &provider{cfg: cfg, tx: map[[32]byte]cachedToken{}}
	b.providers[key] = p
	return p
}

func readSecret(file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read upstream secret file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("upstream secret file %s is empty", file)
		}
		return s, nil
	}
	if env != "" {
		s := strings.TrimSpace(os.Getenv(env))
		if s == "" {
			return "", fmt.Errorf("upstream secret environment variable %s is empty or unset", env)
		}
		return s, nil
	}
	return "", nil
}

func (pr *provider) clientCredentials(ctx context.Context, b *Broker) (string, error) {
	now := b.now()
	pr.mu.Lock()
	if pr.cc.value != "" && now.Before(pr.cc.until) {
		v := pr.cc.value
		pr.mu.Unlock()
		return v, nil
	}
	pr.mu.Unlock()
	if err := pr.failed(now); err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	pr.addTarget(form)
	tok, until, err := pr.tokenRequest(ctx, b, form)
	if err != nil {
		return "", pr.fail(fmt.Errorf("client credentials grant at %s: %w", hostOf(pr.cfg.TokenURL), err), now)
	}
	pr.mu.Lock()
	pr.cc = cachedToken{value: tok, until: until}
	pr.mu.Unlock()
	return tok, nil
}

func (pr *provider) exchange(ctx context.Context, b *Broker, subject string) (string, error) {
	now := b.now()
	k := sha256.Sum256([]byte(subject))
	pr.mu.Lock()
	if c, ok := pr.tx[k]; ok && now.Before(c.until) {
		pr.mu.Unlock()
		return c.value, nil
	}
	pr.mu.Unlock()
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"subject_token":        {subject},
		"subject_token_type":   {tokenTypeAccess},
		"requested_token_type": {tokenTypeAccess},
	}
	pr.addTarget(form)
	tok, until, err := pr.tokenRequest(ctx, b, form)
	if err != nil {
		// Not remembered per provider: one caller's rejected token must
		// not fail the others.
		return "", fmt.Errorf("token exchange at %s: %w", hostOf(pr.cfg.TokenURL), err)
	}
	if tok == subject {
		// An exchange that returns the caller's own token would be
		// pass-through in disguise.
		return "", errors.New("token exchange returned the caller's own token; refusing to forward it")
	}
	pr.mu.Lock()
	if len(pr.tx) >= maxExchangeCache {
		for key, c := range pr.tx {
			if now.After(c.until) || len(pr.tx) >= maxExchangeCache {
				delete(pr.tx, key)
			}
			if len(pr.tx) < maxExchangeCache*9/10 {
				break
			}
		}
	}
	pr.tx[k] = cachedToken{value: tok, until: until}
	pr.mu.Unlock()
	return tok, nil
}

func (pr *provider) addTarget(form url.Values) {
	if len(pr.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(pr.cfg.Scopes, " "))
	}
	if pr.cfg.Audience != "" {
		form.Set("audience", pr.cfg.Audience)
	}
	if pr.cfg.Resource != "" {
		form.Set("resource", pr.cfg.Resource)
	}
}

// tokenRequest posts form to the token endpoint with client
// authentication and returns the access token and when to stop using it.
func (pr *provider) tokenRequest(ctx context.Context, b *Broker, form url.Values) (string, time.Time, error) {
	tr, err := postToken(ctx, b.client, pr.cfg, form)
	if err != nil {
		return "", time.Time{}, err
	}
	return tr.AccessToken, tr.until(b.now(), b.skew), nil
}

// tokenResponse is an RFC 6749 §5.1 token response.
type tokenResponse struct {
	AccessToken  string  `json:"access_token"`
	TokenType    string  `json:"token_type"`
	ExpiresIn    float64 `json:"expires_in"`
	RefreshToken string  `json:"refresh_token"`
	Scope        string  `json:"scope"`
	Error        string  `json:"error"`
	ErrorDesc    string  `json:"error_description"`
}

// until is when to stop using the access token: skew before it expires
// (half its life when that is short), 5 min when the server gave no expiry.
func (tr *tokenResponse) until(now time.Time, skew time.Duration) time.Time {
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute // no expires_in: reuse briefly, then ask again
	}
	if life <= 2*skew {
		return now.Add(life / 2)
	}
	return now.Add(life - skew)
}

// oauthError is an error answer of the token endpoint (RFC 6749 §5.2).
type oauthError struct {
	Status int
	Code   string
	Desc   string
}

func (e *oauthError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, quote(e.Code), quote(e.Desc))
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// postToken posts form to cfg.TokenURL with the client's authentication.
// Errors never contain the client secret or a token.
func postToken(ctx context.Context, client *http.Client, cfg UpstreamConfig, form url.Values) (*tokenResponse, error) {
	secret, err := readSecret(cfg.ClientSecretFile, cfg.ClientSecretEnv)
	if err != nil {
		return nil, err
	}
	if cfg.AuthMethod == "client_secret_post" {
		form.Set("client_id", cfg.ClientID)
		if secret != "" {
			form.Set("client_secret", secret)
		}
	} else if secret == "" {
		form.Set("client_id", cfg.ClientID)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if cfg.AuthMethod != "client_secret_post" && secret != "" {
		// RFC 6749 §2.3.1: form-encode before Basic.
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(secret))
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unreachable: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var tr tokenResponse
	_ = json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		return nil, &oauthError{Status: resp.StatusCode, Code: tr.Error, Desc: tr.ErrorDesc}
	}
	if tr.AccessToken == "" {
		return nil, errors.New("response has no access_token")
	}
	if tt := strings.ToLower(tr.TokenType); tt != "" && tt != "bearer" && tt != "n_a" {
		return nil, fmt.Errorf("token_type %q is not supported (want Bearer)", quote(tr.TokenType))
	}
	return &tr, nil
}

func hostOf(u string) string {
	if pu, err := url.Parse(u); err == nil {
		return pu.Host
	}
	return "the token endpoint"
}
