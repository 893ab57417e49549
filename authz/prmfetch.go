package authz

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// fetchUpstreamPRM reads an upstream's RFC 9728 protected-resource metadata
// the way a client would: first (when set, e.g. where the upstream's own
// challenge points), then the path-inserted form, then the root form. It
// returns the first document that names an authorization server. Metadata
// whose resource does not cover upstream is an ErrResourceMismatch (RFC 9728
// §3.3), not a reason to try the next form: it says where this upstream's
// users must not get tokens.
func fetchUpstreamPRM(ctx context.Context, client *http.Client, upstream *url.URL, first string) (map[string]any, error) {
	base := *upstream
	base.RawQuery, base.Fragment = "", ""
	var candidates []string
	if first != "" {
		candidates = append(candidates, first)
	}
	if p := strings.TrimSuffix(base.Path, "/"); p != "" {
		base.Path = WellKnownPRM + p
		candidates = append(candidates, base.String())
	}
	base.Path = WellKnownPRM
	candidates = append(candidates, base.String())
	var lastErr error
	for _, c := range candidates {
		var m map[string]any
		if err := getJSON(ctx, client, c, &m); err != nil {
			lastErr = err
			continue
		}
		if res, _ := m["resource"].(string); !resourceCovers(res, upstream) {
			return nil, fmt.Errorf("%w: %s names resource %q, but the upstream is %s (RFC 9728 §3.3)", ErrResourceMismatch, c, mcpTruncate(res, 200), upstream.Redacted())
		}
		if as, _ := m["authorization_servers"].([]any); len(as) == 0 {
			lastErr = fmt.Errorf("%s names no authorization_servers", c)
			continue
		}
		return m, nil
	}
	return nil, lastErr
}
