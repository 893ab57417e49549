package authz

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// ProtectedResourceMetadata is the RFC 9728 document for one MCP route.
type ProtectedResourceMetadata struct {
	Resource                           string   `json:"resource"`
	AuthorizationServers               []string `json:"authorization_servers"`
	ScopesSupported                    []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported             []string `json:"bearer_methods_supported"`
	ResourceName                       string   `json:"resource_name,omitempty"`
	ResourceDocumentation              string   `json:"resource_documentation,omitempty"`
	DPoPSigningAlgValuesSupported      []string `json:"dpop_signing_alg_values_supported,omitempty"`
	DPoPBoundAccessTokensRequired      bool     `json:"dpop_bound_access_tokens_required,omitempty"`
	TLSClientCertificateBoundTokens    bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitempty"`
}

// Well-known paths (RFC 9728 §3.1, RFC 8414 §3, OpenID Connect Discovery).
const (
	WellKnownPRM  = "/.well-known/oauth-protected-resource"
	WellKnownAS   = "/.well-known/oauth-authorization-server"
	WellKnownOIDC = "/.well-known/openid-configuration"
)

// Routes tells the metadata handler which servers exist. It is read on
// every request so that a configuration reload takes effect at once.
type Routes interface {
	// Route reports whether name is a server route on this gateway, its
	// upstream URL, and whether the route is transparent (the upstream
	// stays the resource server).
	Route(name string) (upstreamURL string, transparent, ok bool)
}

// MetadataHandler serves the protected-resource metadata of rs for the
// path-inserted form (/.well-known/oauth-protected-resource/mcp/<server>)
// and the root form, and a JSON 404 for authorization-server discovery:
// the gateway is not an authorization server, and a client must learn the
// real one from authorization_servers rather than guess. Other paths go to
// next.
func MetadataHandler(rs *ResourceServer, routes Routes, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !strings.HasPrefix(p, "/.well-known/") {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed", "error_description": "metadata is read with GET"})
			return
		}
		// Browser-based clients fetch metadata cross-origin; the document
		// is public and carries no credentials.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "mcp-protocol-version")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		switch {
		case p == WellKnownPRM:
			writeJSON(w, http.StatusOK, rs.Metadata(""))
			return
		case strings.HasPrefix(p, WellKnownPRM+"/mcp/"):
			name := strings.TrimPrefix(p, WellKnownPRM+"/mcp/")
			up, transparent, ok := routes.Route(name)
			if name != "" && !strings.Contains(name, "/") && ok {
				if !transparent {
					writeJSON(w, http.StatusOK, rs.Metadata(name))
					return
				}
				m, err := rs.TransparentMetadata(r.Context(), name, up)
				if errors.Is(err, ErrResourceMismatch) {
					// Refused, never relabelled with the gateway's URL:
					// the client must not proceed to authorization.
					if rs.cfg.Report != nil {
						rs.cfg.Report(name, err)
					}
					writeJSON(w, http.StatusBadGateway, map[string]string{"error": "invalid_resource_metadata",
						"error_description": "refused: " + err.Error()})
					return
				}
				if err != nil {
					writeJSON(w, http.StatusBadGateway, map[string]string{"error": "temporarily_unavailable",
						"error_description": "the upstream's protected-resource metadata is unavailable: " + err.Error()})
					return
				}
				writeJSON(w, http.StatusOK, m)
				return
			}
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found",
				"error_description": "no MCP server route at this path; metadata lives at " + WellKnownPRM + "/mcp/<server>"})
			return
		case p == WellKnownAS || strings.HasPrefix(p, WellKnownAS+"/") || p == WellKnownOIDC || strings.HasPrefix(p, WellKnownOIDC+"/"):
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found",
				"error_description":     "this gateway is an OAuth resource server, not an authorization server; see authorization_servers in " + WellKnownPRM,
				"authorization_servers": rs.cfg.AuthorizationServers})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
