package authz

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// introspector validates opaque tokens with RFC 7662 and caches results,
// keyed by the token's SHA-256 (the token itself is never kept).
type introspector struct {
	cfg   *IntrospectionConfig
	rs    Config
	cache *ttlCache[map[string]any] // nil claims: inactive
	ttl   time.Duration
	negT  time.Duration
}

func newIntrospector(cfg Config) *introspector {
	in := &introspector{cfg: cfg.Introspection, rs: cfg, ttl: cfg.Introspection.CacheTTL, negT: 10 * time.Second}
	max := cfg.Introspection.CacheSize
	if max == 0 {
		max = 10000
	}
	if in.ttl <= 0 {
		in.ttl = 60 * time.Second
	}
	in.cache = newTTLCache[map[string]any](max)
	return in
}

// Len is the number of cached results.
func (in *introspector) Len() int { return in.cache.len() }

func (in *introspector) validate(ctx context.Context, rs *ResourceServer, server, tok string) (*Principal, error) {
	now := in.rs.Now()
	k := sha256.Sum256([]byte(tok))
	c, ok := in.cache.get(k, now)
	if !ok {
		claims, err := in.call(ctx, tok)
		if err != nil {
			// The introspection endpoint failing is not the caller's fault,
			// but nothing unvalidated passes: refuse with a clear reason.
			return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the token could not be validated: " + err.Error()}
		}
		until := now.Add(in.negT)
		if claims != nil {
			until = cacheUntil(claims, now.Add(in.ttl))
		}
		in.cache.put(k, claims, until, now)
		c = claims
	}
	if c == nil {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the token is not active (revoked, expired or unknown to the authorization server)"}
	}
	if tt, _ := c["token_type"].(string); tt != "" && !strings.EqualFold(tt, "bearer") && !strings.EqualFold(tt, "dpop") && tt != "access_token" {
		// A refresh token is active too; it is not an access token.
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the token is not an access token (token_type " + quote(tt) + ")"}
	}
	if iss, ok := c["iss"].(string); ok && iss != rs.cfg.Issuer {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: describe(fmt.Errorf("%w", errIssuer), "")}
	}
	if exp, ok := c["exp"].(float64); ok && now.After(time.Unix(int64(exp), 0).Add(rs.cfg.Leeway)) {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the token has expired"}
	}
	if nbf, ok := c["nbf"].(float64); ok && now.Add(rs.cfg.Leeway).Before(time.Unix(int64(nbf), 0)) {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: "the token is not valid yet"}
	}
	// RFC 7662 makes aud optional; a token without one cannot be shown to
	// be meant for this resource, so it is refused (RFC 8707 audience binding).
	auds := audList(c["aud"])
	if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(rs.audiences(server), a) }) {
		return nil, &Error{Status: 401, Code: "invalid_token", Desc: describe(errAudience, rs.ResourceURL(server))}
	}
	return rs.principal(c, tok)
}

func audList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// call performs the introspection request; nil claims mean inactive.
func (in *introspector) call(ctx context.Context, tok string) (map[string]any, error) {
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	resp, err := in.rs.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspection endpoint unreachable: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("introspection response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspection endpoint answered HTTP %d", resp.StatusCode)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, fmt.Errorf("introspection response is not JSON: %w", err)
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, nil
	}
	return claims, nil
}

// redactURLError drops the URL (which may carry a query) from a client error.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// cacheUntil is the earlier of max and the claims' exp.
func cacheUntil(c map[string]any, max time.Time) time.Time {
	if exp, ok := c["exp"].(float64); ok && time.Unix(int64(exp), 0).Before(max) {
		return time.Unix(int64(exp), 0)
	}
	return max
}
