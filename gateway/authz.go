package gateway

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/redisstore"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
)

// startAuthz builds the OAuth resource server (identity.oauth) and the
// upstream credential broker, and logs every server that receives the
// caller's token. The JWKS refresh stops with the gateway.
func (g *Gateway) startAuthz(ctx context.Context, cfg *config.Config) (extproc.Authz, error) {
	g.logForwarding(nil, cfg)
	az := extproc.Authz{Broker: authz.NewBroker(authz.BrokerOptions{})}
	var err error
	g.stops = append(g.stops, func() {
		if g.proc != nil {
			if a := g.proc.Authz(); a.Stop != nil {
				a.Stop()
			}
		}
	})
	rs, stop, err := newResourceServer(ctx, cfg, g.reportAuthz)
	if err != nil {
		return az, err
	}
	az.RS, az.Stop = rs, stop
	if az.Delegation, err = g.startDelegation(cfg); err != nil {
		return az, err
	}
	return az, nil
}

// startDelegation builds user-delegated upstream OAuth
// (identity.upstream_oauth; nil when unset). Its key, URL and store are
// fixed until restart; the servers it serves are read per request.
func (g *Gateway) startDelegation(cfg *config.Config) (*authz.Delegation, error) {
	u := cfg.Identity.UpstreamOAuth
	if u == nil {
		return nil, nil
	}
	key, err := u.Key()
	if err != nil {
		return nil, fmt.Errorf("identity.upstream_oauth: %w", err)
	}
	o := authz.DelegationOptions{BaseURL: cfg.UpstreamOAuthURL(), Key: key, ConsentTTL: u.ConsentTTL, GrantTTL: u.GrantTTL,
		Lookup: func(name string) (authz.UpstreamConfig, bool) {
			s, ok := g.cfg.Load().Server(name)
			if !ok {
				return authz.UpstreamConfig{}, false
			}
			return s.Upstream(), true
		}}
	if l, oa := u.Login, cfg.Identity.OAuth; l != nil && oa != nil {
		iss := oa.Issuer
		if iss == "" && len(oa.AuthorizationServers) > 0 {
			iss = oa.AuthorizationServers[0]
		}
		o.Login = &authz.ConsentLogin{Issuer: iss, ClientID: l.ClientID, ClientSecretFile: l.ClientSecretFile, ClientSecretEnv: l.ClientSecretEnv,
			AuthMethod: l.AuthMethod, Resource: oa.Resource,
			// The live resource server, so a reload's keys apply.
			Verify: func(ctx context.Context, tok string) (string, error) {
				rs := g.proc.Authz().RS
				if rs == nil {
					return "", fmt.Errorf("identity.oauth is not configured")
				}
				return rs.VerifyLogin(ctx, tok)
			}}
	}
	if cfg.UpstreamOAuthStore() == config.StoreRedis {
		c, err := cfg.State.Redis.Client()
		if err != nil {
			return nil, fmt.Errorf("state.redis: %w", err)
		}
		g.finals = append(g.finals, func() { _ = c.Close() })
		o.Store = redisstore.New(c, cfg.State.Prefix+"deleg:")
	}
	d, err := authz.NewDelegation(o)
	if err != nil {
		return nil, fmt.Errorf("identity.upstream_oauth: %w", err)
	}
	g.logger.Info("user-delegated upstream OAuth: register this redirect URI at each upstream's authorization server", "redirect_uri", d.RedirectURL(), "store", cfg.UpstreamOAuthStore())
	if r := d.LoginRedirectURL(); r != "" {
		g.logger.Info("user-delegated upstream OAuth: consents need a sign-in; register this redirect URI for the login client at identity.oauth's authorization server", "redirect_uri", r, "client_id", u.Login.ClientID)
	}
	return d, nil
}

// newResourceServer builds identity.oauth's resource server (nil when not
// configured) with its own lifetime.
func newResourceServer(ctx context.Context, cfg *config.Config, report func(string, error)) (*authz.ResourceServer, func(), error) {
	ac, err := cfg.AuthzConfig()
	if err != nil || ac == nil {
		return nil, nil, err
	}
	ac.Report = report
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rs, err := authz.New(rctx, *ac)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("identity.oauth: %w", err)
	}
	return rs, cancel, nil
}

// reportAuthz logs what the resource server refused outside a request's
// pipeline (an upstream's mismatching protected-resource metadata): rare,
// and a misconfiguration or an attack, so always a warning.
func (g *Gateway) reportAuthz(server string, err error) {
	g.logger.Warn("transparent OAuth route refused", "server", server, "error", err)
}

// reloadAuthz rebuilds the resource server when identity.oauth or the
// scopes it advertises changed. On error the running one stays.
func (g *Gateway) reloadAuthz(cfg *config.Config) error {
	old := g.cfg.Load()
	g.logForwarding(old, cfg)
	oldAC, _ := old.AuthzConfig()
	newAC, err := cfg.AuthzConfig()
	if err != nil {
		return err
	}
	if reflect.DeepEqual(oldAC, newAC) {
		return nil
	}
	rs, stop, err := newResourceServer(context.Background(), cfg, g.reportAuthz)
	if err != nil {
		return err
	}
	cur := g.proc.Authz()
	g.proc.SetAuthz(extproc.Authz{RS: rs, Broker: cur.Broker, Stop: stop, Delegation: cur.Delegation})
	return nil
}

// logForwarding warns about servers that receive the caller's token (new
// ones only, on reload).
func (g *Gateway) logForwarding(old, cfg *config.Config) {
	for _, s := range cfg.Servers {
		if old != nil {
			if o, ok := old.Server(s.Name); ok && o.Forwards() == s.Forwards() && o.Transparent() == s.Transparent() && o.Delegates() == s.Delegates() {
				continue
			}
		}
		if s.Delegates() {
			g.logger.Info("user-delegated upstream OAuth: each caller consents once and the upstream receives that caller's own token", "server", s.Name)
		} else if s.Transparent() {
			g.logger.Warn("transparent OAuth route: the upstream stays the resource server and receives the caller's token (issued for the gateway's route URL); "+
				"the gateway rewrites its challenges and metadata and identifies the caller from the upstream's issuer", "server", s.Name)
		} else if s.Forwards() {
			g.logger.Warn("RISK: the caller's Authorization header is forwarded to this upstream (servers[].upstream_auth.forward_client_token); "+
				"the MCP authorization specification forbids token pass-through: a token meant for the gateway becomes usable by the upstream", "server", s.Name)
		}
	}
}

// wellKnown serves the protected-resource metadata and the
// authorization-server 404 when identity.oauth is configured (read per
// request, so reloads apply), and the consent pages of user-delegated
// upstream OAuth; everything else goes to next untouched.
func (g *Gateway) wellKnown(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/oauth/upstream/") && g.proc != nil {
			if d := g.proc.Authz().Delegation; d != nil {
				d.Handler().ServeHTTP(w, r)
				return
			}
		}
		if !strings.HasPrefix(r.URL.Path, "/.well-known/") || g.proc == nil {
			next.ServeHTTP(w, r)
			return
		}
		rs := g.proc.Authz().RS
		if rs == nil {
			next.ServeHTTP(w, r)
			return
		}
		authz.MetadataHandler(rs, routes{g}, next).ServeHTTP(w, r)
	})
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
