package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
)

// startAuthz builds the OAuth resource server (identity.oauth) and the
// upstream credential broker, and logs every server that receives the
// caller's token as a risk. The JWKS refresh stops with the gateway.
func (g *Gateway) startAuthz(ctx context.Context, cfg *config.Config) (extproc.Authz, error) {
	az := extproc.Authz{Broker: authz.NewBroker(authz.BrokerOptions{})}
	for _, s := range cfg.Servers {
		if s.Transparent() {
			g.logger.Warn("transparent OAuth route: the upstream stays the resource server and receives the caller's token (issued for the gateway's route URL); "+
				"the gateway rewrites its challenges and metadata and identifies the caller from the upstream's issuer", "server", s.Name)
		} else if s.Forwards() {
			g.logger.Warn("RISK: the caller's Authorization header is forwarded to this upstream (servers[].upstream_auth.forward_client_token); "+
				"the MCP authorization specification forbids token pass-through: a token meant for the gateway becomes usable by the upstream", "server", s.Name)
		}
	}
	ac, err := cfg.AuthzConfig()
	if err != nil || ac == nil {
		return az, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.stops = append(g.stops, cancel)
	rs, err := authz.New(rctx, *ac)
	if err != nil {
		return az, fmt.Errorf("identity.oauth: %w", err)
	}
	az.RS = rs
	return az, nil
}

// wellKnown serves the protected-resource metadata and the
// authorization-server 404 on the proxy listener when identity.oauth is
// configured; everything else goes to the data plane.
func (g *Gateway) wellKnown(rs *authz.ResourceServer, next http.Handler) http.Handler {
	if rs == nil {
		return next
	}
	return authz.MetadataHandler(rs, routes{g}, next)
}

// routes answers from the live configuration, so reloads apply.
type routes struct{ g *Gateway }

func (r routes) Route(name string) (string, bool, bool) {
	s, ok := r.g.cfg.Load().Server(name)
	if !ok {
		return "", false, false
	}
	return s.URL, s.Transparent(), true
}
