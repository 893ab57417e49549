package gateway

import (
	"context"
	"fmt"
	"os"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/sinks"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/identity"
)

// engines builds the processor's collaborators from the configuration.
// Everything it starts is stopped by Gateway.Close.
func (g *Gateway) engines(ctx context.Context, cfg *config.Config) (extproc.Engines, error) {
	e := extproc.Engines{
		Telemetry: g.tel,
		ResultRules: extproc.ResultRules{
			Injection: cfg.Detectors.Results.Injection,
			Secrets:   cfg.Detectors.Results.Secrets,
			PII:       cfg.Detectors.Results.PII,
		},
	}
	dlog, dlogClose, err := cfg.Log.Open(os.Stdout)
	if err != nil {
		return e, err
	}
	g.finals = append(g.finals, func() { _ = dlogClose.Close() })
	e.Observers = append(e.Observers, decisionObserver{tel: g.tel, log: dlog})
	anon := policy.Identity{ID: "anonymous", Trust: "untrusted", Source: policy.SourceAnonymous}
	st, err := g.sharedState(cfg) // gateway/state.go
	if err != nil {
		return e, err
	}
	if cfg.Policy.File != "" {
		p, err := policy.Load(cfg.Policy.File)
		if err != nil {
			return e, err
		}
		g.policies = policy.NewStore(p)
		beh, closeStore := newBehaviors(cfg, g.now)
		g.finals = append(g.finals, closeStore)
		st.behaviors(beh)
		beh.update(p)
		e.Behavior = beh
		g.policies.OnReload(func(ev policy.ReloadEvent) {
			g.tel.PolicyReload(ev.Err)
			if ev.Err == nil {
				beh.update(g.policies.Current())
			}
			if ev.Err != nil {
				g.logger.Error("policy reload failed; keeping the running policy", "path", ev.Path, "version", ev.OldVersion, "error", ev.Err)
				return
			}
			g.logger.Info("policy reloaded", "path", ev.Path, "from", ev.OldVersion, "to", ev.NewVersion)
		})
		wctx, cancel := context.WithCancel(context.Background())
		g.stops = append(g.stops, cancel)
		go g.policies.Watch(wctx, cfg.Policy.File, cfg.Policy.Watch)
		e.Policy = g.policies
		anon = p.AnonymousIdentity()
	}
	if id := identityConfig(cfg, anon); id.JWT != nil || id.SPIFFE != nil || id.Header != nil {
		if id.Header != nil {
			g.logger.Warn("INSECURE: agent identity is taken from a plain request header; use this for local development only", "header", id.Header.Name)
		}
		r, err := identity.New(ctx, id)
		if err != nil {
			return e, fmt.Errorf("identity: %w", err)
		}
		e.Identity = r
	}
	if cfg.Audit.Enabled() {
		snks, err := sinks.Open(ctx, cfg.Audit, g.tel)
		if err != nil {
			return e, err
		}
		l, err := audit.Open(cfg.Audit, audit.WithSinks(snks...), audit.WithObserver(g.tel))
		if err != nil {
			for _, s := range snks {
				s.Close()
			}
			return e, err
		}
		g.audit = l
		e.Audit = l
	}
	det, err := newDetector(cfg)
	if err != nil {
		return e, err
	}
	if det != nil {
		if err := st.detector(det); err != nil {
			return e, err
		}
		e.Detector = det
	}
	if err := g.approvalEngine(cfg, &e); err != nil {
		return e, err
	}
	return e, nil
}

func identityConfig(cfg *config.Config, anon policy.Identity) identity.Config {
	out := identity.Config{Anonymous: anon}
	if j := cfg.Identity.JWT; j != nil {
		out.JWT = &identity.JWTConfig{
			Issuer: j.Issuer, Audience: j.Audience, JWKSFile: j.JWKSFile, JWKSURL: j.JWKSURL, Header: j.Header,
			Algorithms: j.Algorithms, Leeway: j.Leeway, GroupsClaim: j.GroupsClaim, RolesClaim: j.RolesClaim,
			TrustClaim: j.TrustClaim, DefaultTrust: j.DefaultTrust,
		}
	}
	if s := cfg.Identity.SPIFFE; s != nil {
		out.SPIFFE = &identity.SPIFFEConfig{TrustDomains: s.TrustDomains, Trust: s.Trust}
	}
	if h := cfg.Identity.Header; h != nil {
		out.Header = &identity.HeaderConfig{Name: h.Name, GroupsName: h.GroupsName, Trust: h.Trust}
		if out.Header.Name == "" {
			out.Header.Name = "x-portcullis-agent"
		}
	}
	return out
}

var _ extproc.PolicySource = (*policy.Store)(nil)
var _ extproc.Auditor = (*audit.Log)(nil)
var _ extproc.IdentityResolver = (*identity.Resolver)(nil)
