package authz

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// endpointDiscovery finds the authorization and token endpoints of a
// user_delegated upstream that configures neither: the upstream's RFC 9728
// protected-resource metadata (path-inserted form, then the root form)
// names its authorization server, whose RFC 8414 (or OpenID) metadata
// names the endpoints, as an MCP client discovers them. Results are cached
// per upstream URL for prmTTL; failures for discoveryRetry, so a broken
// upstream is not asked on every call.
type endpointDiscovery struct {
	client *http.Client
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]discovered
}

type discovered struct {
	authorize, token, resource, issuer string
	err                                error
	at                                 time.Time
}

const discoveryRetry = 5 * time.Second

// resolve fills in cfg's authorization and token endpoints (and, when
// unset, the RFC 8707 resource: the upstream's own) from discovery. A
// configuration that names its endpoints is returned unchanged.
func (e *endpointDiscovery) resolve(ctx context.Context, cfg UpstreamConfig) (UpstreamConfig, error) {
	if cfg.AuthorizationURL != "" || cfg.TokenURL != "" {
		return cfg, nil
	}
	if cfg.UpstreamURL == "" {
		return cfg, fmt.Errorf("no authorization_url and token_url configured, and no upstream URL to discover them from")
	}
	now := e.now()
	e.mu.Lock()
	d, ok := e.cache[cfg.UpstreamURL]
	e.mu.Unlock()
	if !ok || (d.err == nil && now.Sub(d.at) >= prmTTL) || (d.err != nil && now.Sub(d.at) >= discoveryRetry) {
		d = e.discover(ctx, cfg.UpstreamURL)
		d.at = now
		e.mu.Lock()
		if len(e.cache) > 1000 {
			clear(e.cache) // bounded: one entry per configured upstream in practice
		}
		e.cache[cfg.UpstreamURL] = d
		e.mu.Unlock()
	}
	if d.err != nil {
		return cfg, d.err
	}
	cfg.AuthorizationURL, cfg.TokenURL = d.authorize, d.token
	if cfg.Resource == "" {
		cfg.Resource = d.resource
	}
	return cfg, nil
}

func (e *endpointDiscovery) discover(ctx context.Context, upstream string) discovered {
	u, err := url.Parse(upstream)
	if err != nil || !u.IsAbs() {
		return discovered{err: fmt.Errorf("upstream URL %q is not absolute", upstream)}
	}
	m, err := fetchUpstreamPRM(ctx, e.client, u, "")
	if err != nil {
		return discovered{err: fmt.Errorf("upstream protected-resource metadata: %w", err)}
	}
	res, _ := m["resource"].(string)
	as, _ := m["authorization_servers"].([]any)
	iss, _ := firstString(as)
	if iss == "" {
		return discovered{err: fmt.Errorf("upstream protected-resource metadata: its first authorization server is not a string")}
	}
	asm, err := authServerMetadata(ctx, e.client, iss)
	if err != nil {
		return discovered{err: err}
	}
	authorize, _ := asm["authorization_endpoint"].(string)
	token, _ := asm["token_endpoint"].(string)
	for _, ep := range []struct{ name, v string }{{"authorization_endpoint", authorize}, {"token_endpoint", token}} {
		p, err := url.Parse(ep.v)
		if ep.v == "" || err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Fragment != "" {
			return discovered{err: fmt.Errorf("authorization server %s: %s %q is not an absolute http(s) URL", iss, ep.name, mcpTruncate(ep.v, 200))}
		}
	}
	return discovered{authorize: authorize, token: token, resource: res, issuer: iss}
}

func firstString(list []any) (string, bool) {
	if len(list) == 0 {
		return "", false
	}
	s, ok := list[0].(string)
	return s, ok
}
