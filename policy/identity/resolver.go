package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-mcp/portcullis/authz/jose"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/policy"
)

// ExtProcAttributesKey is the ext_proc attributes namespace Envoy fills
// from request_attributes, and SANAttribute the URI SAN key inside it.
const (
	ExtProcAttributesKey = "envoy.filters.http.ext_proc"
	SANAttribute         = "connection.uri_san_peer_certificate"
)

// Config selects identity sources. Nil sections are disabled.
type Config struct {
	JWT    *JWTConfig
	SPIFFE *SPIFFEConfig
	Header *HeaderConfig
	// Anonymous is returned when no source applies (normally
	// policy.(*Policy).AnonymousIdentity()). Zero value: ID "anonymous",
	// trust "untrusted".
	Anonymous policy.Identity
	// TrustByID assigns trust levels by identity ID glob, first match wins;
	// it overrides a source's default trust (not a JWT trust claim).
	TrustByID []TrustRule
}

// TrustRule maps an ID glob to a trust level.
type TrustRule struct {
	ID    string
	Trust string
}

// JWTConfig verifies bearer tokens.
type JWTConfig struct {
	Issuer   string   // required
	Audience []string // required, at least one
	// Exactly one of JWKSFile and JWKSURL.
	JWKSFile string
	JWKSURL  string
	// Header carrying the token (default "authorization", "Bearer " prefix).
	Header       string
	Algorithms   []string      // subset of RS256, ES256, EdDSA
	Leeway       time.Duration // default 30 s
	GroupsClaim  string        // default "groups"
	RolesClaim   string        // default "roles"
	TrustClaim   string        // default "trust"; empty claim → DefaultTrust
	DefaultTrust string        // default "medium"
	// HTTPClient fetches JWKSURL (default: 10 s timeout).
	HTTPClient *http.Client
	// RefreshInterval is the minimum time between JWKS refetches triggered
	// by an unknown kid (default 5 min).
	RefreshInterval time.Duration
}

// SPIFFEConfig accepts SPIFFE IDs from the client certificate.
type SPIFFEConfig struct {
	// TrustDomains allowed (e.g. "prod.example.org"); empty = any.
	TrustDomains []string
	Trust        string // default "medium"
}

// HeaderConfig takes the identity from a plain header (development only).
type HeaderConfig struct {
	Name       string // default "x-portcullis-agent"
	GroupsName string // default "x-portcullis-groups" (comma-separated)
	Trust      string // default "low"
}

// Resolver turns request metadata into a policy.Identity.
type Resolver struct {
	cfg Config

	mu        sync.RWMutex
	keys      *KeySet
	lastFetch time.Time
	inflight  chan struct{} // closed when the running JWKS refetch ends
	keyWait   time.Duration // unknownKeyWait; tests shorten it
	now       func() time.Time
}

// ErrUnauthenticated wraps every rejection of presented credentials.
var ErrUnauthenticated = errors.New("unauthenticated")

// New validates cfg (all problems joined) and loads the JWKS.
func New(ctx context.Context, cfg Config) (*Resolver, error) {
	var errs []error
	// Copy the sections so defaults never write into the caller's config.
	if cfg.JWT != nil {
		j := *cfg.JWT
		cfg.JWT = &j
	}
	if cfg.SPIFFE != nil {
		s := *cfg.SPIFFE
		cfg.SPIFFE = &s
	}
	if cfg.Header != nil {
		h := *cfg.Header
		cfg.Header = &h
	}
	if j := cfg.JWT; j != nil {
		if j.Issuer == "" {
			errs = append(errs, errors.New("jwt.issuer: is required"))
		}
		if len(j.Audience) == 0 {
			errs = append(errs, errors.New("jwt.audience: at least one is required"))
		}
		if (j.JWKSFile == "") == (j.JWKSURL == "") {
			errs = append(errs, errors.New("jwt: exactly one of jwks_file and jwks_url is required"))
		}
		for i, a := range j.Algorithms {
			if a != "RS256" && a != "ES256" && a != "EdDSA" {
				errs = append(errs, fmt.Errorf("jwt.algorithms[%d]: %q not allowed (want RS256, ES256 or EdDSA)", i, a))
			}
		}
		if j.Header == "" {
			j.Header = "authorization"
		}
		if j.GroupsClaim == "" {
			j.GroupsClaim = "groups"
		}
		if j.RolesClaim == "" {
			j.RolesClaim = "roles"
		}
		if j.TrustClaim == "" {
			j.TrustClaim = "trust"
		}
		if j.DefaultTrust == "" {
			j.DefaultTrust = "medium"
		}
		if j.RefreshInterval == 0 {
			j.RefreshInterval = 5 * time.Minute
		}
	}
	if s := cfg.SPIFFE; s != nil && s.Trust == "" {
		s.Trust = "medium"
	}
	if h := cfg.Header; h != nil {
		if h.Name == "" {
			h.Name = "x-portcullis-agent"
		}
		if h.GroupsName == "" {
			h.GroupsName = "x-portcullis-groups"
		}
		if h.Trust == "" {
			h.Trust = "low"
		}
	}
	if cfg.Anonymous.ID == "" {
		cfg.Anonymous = policy.Identity{ID: "anonymous", Trust: "untrusted"}
	}
	cfg.Anonymous.Source = policy.SourceAnonymous
	for i, t := range cfg.TrustByID {
		if err := config.ValidGlob(t.ID); err != nil {
			errs = append(errs, fmt.Errorf("trust_by_id[%d].id: %w", i, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r := &Resolver{cfg: cfg, now: time.Now}
	if j := cfg.JWT; j != nil {
		var ks *KeySet
		var err error
		if j.JWKSFile != "" {
			ks, err = LoadJWKSFile(j.JWKSFile)
		} else {
			ks, err = FetchJWKS(ctx, j.HTTPClient, j.JWKSURL)
		}
		if err != nil {
			return nil, err
		}
		r.keys, r.lastFetch = ks, time.Now()
	}
	return r, nil
}

// Resolve returns the caller's identity. headers have lower-case names.
// A presented credential that fails verification is an error wrapping
// ErrUnauthenticated; no credential at all yields the anonymous identity.
func (r *Resolver) Resolve(headers map[string]string, attrs map[string]*structpb.Struct) (policy.Identity, error) {
	if j := r.cfg.JWT; j != nil {
		if raw := headers[j.Header]; raw != "" {
			tok, ok := cutBearer(raw)
			if !ok {
				return policy.Identity{}, fmt.Errorf("%w: %s header is not a Bearer token", ErrUnauthenticated, j.Header)
			}
			id, err := r.fromJWT(tok)
			if err != nil {
				return policy.Identity{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
			}
			return id, nil
		}
	}
	if s := r.cfg.SPIFFE; s != nil {
		if san := uriSAN(attrs); san != "" {
			id, err := r.fromSPIFFE(san)
			if err != nil {
				return policy.Identity{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
			}
			return id, nil
		}
	}
	if h := r.cfg.Header; h != nil {
		if v := strings.TrimSpace(headers[h.Name]); v != "" {
			id := policy.Identity{ID: v, Trust: h.Trust, Source: policy.SourceHeader, Insecure: true}
			if g := headers[h.GroupsName]; g != "" {
				id.Groups = stringList(g)
			}
			// TrustByID is deliberately not applied: the header is spoofable.
			return id, nil
		}
	}
	id := r.cfg.Anonymous
	id.Groups = append([]string(nil), id.Groups...)
	return id, nil
}

func cutBearer(v string) (string, bool) {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:]), true
	}
	return "", false
}

func (r *Resolver) fromJWT(tok string) (policy.Identity, error) {
	j := r.cfg.JWT
	opts := VerifyOptions{Issuer: j.Issuer, Audience: j.Audience, Algorithms: j.Algorithms, Leeway: j.Leeway, Now: r.now()}
	r.mu.RLock()
	ks := r.keys
	r.mu.RUnlock()
	claims, err := VerifyJWT(tok, ks, opts)
	if errors.Is(err, ErrNoKey) && j.JWKSURL != "" && r.refresh() {
		r.mu.RLock()
		ks = r.keys
		r.mu.RUnlock()
		claims, err = VerifyJWT(tok, ks, opts)
	}
	if err != nil {
		return policy.Identity{}, err
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return policy.Identity{}, fmt.Errorf("%w: sub", ErrMissingClaim)
	}
	id := policy.Identity{ID: sub, Source: policy.SourceJWT, ClientID: jose.ClientID(claims), Actor: jose.ActorChain(claims),
		Groups: stringList(claims[j.GroupsClaim]), Roles: stringList(claims[j.RolesClaim])}
	if t, _ := claims[j.TrustClaim].(string); t != "" {
		id.Trust = t
		return id, nil
	}
	id.Trust = j.DefaultTrust
	r.applyTrust(&id)
	return id, nil
}

// refresh refetches the JWKS for a token with an unknown key id, at most
// once per refresh interval. The fetch runs in the background (single
// flight, 10 s bound) and installs the keys for later requests; the request
// that triggered it waits at most unknownKeyWait, so a down or hanging JWKS
// endpoint never holds calls longer. It reports whether a fetch ended in
// time (the caller then verifies again).
func (r *Resolver) refresh() bool {
	j := r.cfg.JWT
	r.mu.Lock()
	done := r.inflight
	if done == nil {
		if time.Since(r.lastFetch) < j.RefreshInterval {
			r.mu.Unlock()
			return false
		}
		r.lastFetch = time.Now()
		done = make(chan struct{})
		r.inflight = done
		go r.fetch(done)
	}
	r.mu.Unlock()
	wait := r.keyWait
	if wait <= 0 {
		wait = unknownKeyWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// unknownKeyWait bounds how long a request with an unknown key id waits
// for the JWKS refetch it triggered.
const unknownKeyWait = 2 * time.Second

// fetch loads the JWKS; a failure keeps the last good keys.
func (r *Resolver) fetch(done chan struct{}) {
	defer close(done)
	j := r.cfg.JWT
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ks, err := FetchJWKS(ctx, j.HTTPClient, j.JWKSURL)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight = nil
	if err == nil {
		r.keys = ks
	}
}

func uriSAN(attrs map[string]*structpb.Struct) string {
	st := attrs[ExtProcAttributesKey]
	if st == nil {
		return ""
	}
	v := st.GetFields()[SANAttribute]
	if v == nil {
		return ""
	}
	if s := v.GetStringValue(); s != "" {
		return s
	}
	// Some Envoy versions send a list of SANs.
	for _, e := range v.GetListValue().GetValues() {
		if s := e.GetStringValue(); strings.HasPrefix(s, "spiffe://") {
			return s
		}
	}
	return ""
}

// ParseSPIFFEID validates a SPIFFE ID and returns its trust domain.
func ParseSPIFFEID(id string) (trustDomain string, err error) {
	rest, ok := strings.CutPrefix(id, "spiffe://")
	if !ok {
		return "", fmt.Errorf("URI SAN %q is not a SPIFFE ID", id)
	}
	td, path, _ := strings.Cut(rest, "/")
	if td == "" || len(id) > 2048 {
		return "", fmt.Errorf("SPIFFE ID %q has no trust domain", id)
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "", fmt.Errorf("SPIFFE ID %q: invalid trust domain character %q", id, c)
		}
	}
	if strings.Contains(path, "//") || strings.HasSuffix(path, "/") || strings.Contains("/"+path+"/", "/../") || strings.Contains("/"+path+"/", "/./") || strings.ContainsAny(path, "?#%") {
		return "", fmt.Errorf("SPIFFE ID %q: invalid path", id)
	}
	return td, nil
}

func (r *Resolver) fromSPIFFE(san string) (policy.Identity, error) {
	td, err := ParseSPIFFEID(san)
	if err != nil {
		return policy.Identity{}, err
	}
	s := r.cfg.SPIFFE
	if len(s.TrustDomains) > 0 && !contains(s.TrustDomains, td) {
		return policy.Identity{}, fmt.Errorf("SPIFFE trust domain %q not accepted", td)
	}
	id := policy.Identity{ID: san, Trust: s.Trust, Source: policy.SourceSPIFFE}
	r.applyTrust(&id)
	return id, nil
}

func (r *Resolver) applyTrust(id *policy.Identity) {
	for _, t := range r.cfg.TrustByID {
		if config.Glob(t.ID, id.ID) {
			id.Trust = t.Trust
			return
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
