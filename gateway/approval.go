package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/console"
	"github.com/portcullis-mcp/portcullis/approval/notify"
	"github.com/portcullis-mcp/portcullis/approval/redisstore"
	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/identity"
)

// approvalViewSession is the redaction vault session used for the
// approver's view of arguments; nothing ever restores from it.
const approvalViewSession = "portcullis:approval-view"

// approvalEngine builds the approval service (after audit and detection,
// which it uses) and sets e.Approvals.
func (g *Gateway) approvalEngine(cfg *config.Config, e *extproc.Engines) error {
	ac := cfg.Approvals
	var store approval.Store
	if ac.Redis != "" {
		if len(ac.StateKeys) == 0 {
			return errors.New("approvals.state_keys: required with approvals.redis, so every instance can validate the requestState another sealed")
		}
		c := redis.NewClient(&redis.Options{Addr: ac.Redis})
		g.finals = append(g.finals, func() { _ = c.Close() })
		store = redisstore.New(c, ac.Prefix)
	} else {
		store = approval.NewMemoryStore(0)
	}
	opts := []approval.Option{approval.WithLogger(g.logger)}
	// Every transition is counted (portcullis_approvals_total) and, with an
	// audit log, recorded in the hash chain.
	rec := meteredRecorder{tel: g.tel}
	if g.audit != nil {
		rec.next = auditRecorder{g.audit}
	}
	opts = append(opts, approval.WithRecorder(rec))
	if det := e.Detector; det != nil {
		opts = append(opts, approval.WithRedactor(func(b []byte) []byte {
			if out, err := det.Redact(b, approvalViewSession, nil, "mask"); err == nil {
				b = out
			}
			return approval.RedactArguments(b)
		}))
	}
	ns, err := notifiers(ac.Notify)
	if err != nil {
		return err
	}
	opts = append(opts, approval.WithNotifiers(ns...))
	opts = append(opts, g.approvalOpts...)
	svc, err := approval.New(ac, store, opts...)
	if err != nil {
		return err
	}
	g.approvals = svc
	e.Approvals = svc
	sctx, cancel := context.WithCancel(context.Background())
	go svc.Run(sctx, 15*time.Second)
	go feedPending(sctx, svc, g.tel, 15*time.Second)
	g.stops = append(g.stops, cancel, svc.Close)
	return nil
}

// feedPending keeps portcullis_approvals_pending current: recounted from
// the store after every local transition and every interval (with a shared
// store, other replicas' transitions show up at the next interval). When
// the store cannot be read the last count stays.
func feedPending(ctx context.Context, svc *approval.Service, tel *telemetry.Telemetry, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		changed := svc.Changed() // before counting, so no transition is missed
		if rs, err := svc.List(ctx, pendingScan); err == nil {
			n := 0
			for _, r := range rs {
				if r.Status == approval.StatusPending {
					n++
				}
			}
			tel.ApprovalsPending(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

// pendingScan is how many of the newest requests are scanned for the
// pending count (the sweep scans as many).
const pendingScan = 1000

func notifiers(n approval.Notify) ([]approval.Notifier, error) {
	var out []approval.Notifier
	if w := n.Webhook; w != nil {
		s, err := w.Secret.Resolve()
		if err != nil {
			return nil, fmt.Errorf("approvals.notify.webhook.secret: %w", err)
		}
		out = append(out, &notify.Webhook{URL: w.URL, Secret: s})
	}
	if n.Slack != nil {
		u, err := n.Slack.Resolve()
		if err != nil {
			return nil, fmt.Errorf("approvals.notify.slack: %w", err)
		}
		out = append(out, &notify.Slack{URL: string(u)})
	}
	if n.Teams != nil {
		u, err := n.Teams.Resolve()
		if err != nil {
			return nil, fmt.Errorf("approvals.notify.teams: %w", err)
		}
		out = append(out, &notify.Teams{URL: string(u)})
	}
	return out, nil
}

// mountApprovals serves the approvals API and console on the admin mux.
func (g *Gateway) mountApprovals(mux *http.ServeMux) {
	if g.approvals == nil {
		return
	}
	cfg := g.cfg.Load()
	if cfg.Approvals.ConsoleURL == "" && g.adminLis != nil {
		g.approvals.SetConsoleURL(adminURL(g.adminLis.Addr()))
	}
	auth, err := g.approverAuth(cfg.Approvals.Auth)
	if err != nil {
		g.logger.Error("approvals: approver authentication unavailable; nobody can approve", "error", err)
		auth = console.Deny{}
	}
	if auth.Mode() == "none" {
		g.logger.Warn("approvals: no approver authentication is configured (approvals.auth.jwt); nobody can approve, require_approval calls time out and are rejected")
	}
	if auth.Mode() == "insecure-dev" {
		g.logger.Warn("INSECURE: approvals console accepts any approver name (approvals.auth.insecure_dev); use this for local development only")
	}
	h, err := console.New(console.Options{Service: g.approvals, Auth: auth, Status: g.consoleStatus(), Logger: g.logger})
	if err != nil {
		g.logger.Error("approvals console", "error", err)
		return
	}
	h.Mount(mux)
	if auth.Mode() != "insecure-dev" {
		// Approvers authenticate to the console themselves (JWT or mTLS),
		// so an admin token does not also stand in front of it. In the
		// insecure development mode the admin guard stays.
		g.AdminSelfAuthenticated("/approvals")
		g.AdminSelfAuthenticated("/api/approvals")
	}
}

func adminURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (g *Gateway) approverAuth(a approval.Auth) (console.Authenticator, error) {
	switch {
	case a.JWT != nil:
		r, err := identity.New(context.Background(), identity.Config{JWT: &identity.JWTConfig{Issuer: a.JWT.Issuer, Audience: a.JWT.Audience,
			JWKSFile: a.JWT.JWKSFile, JWKSURL: a.JWT.JWKSURL, Algorithms: a.JWT.Algorithms, GroupsClaim: a.JWT.GroupsClaim}})
		if err != nil {
			return nil, fmt.Errorf("approvals.auth.jwt: %w", err)
		}
		return jwtApprovers{r}, nil
	case a.MTLS:
		return console.MTLS{}, nil
	case a.InsecureDev:
		return console.InsecureDev{}, nil
	}
	return console.Deny{}, nil
}

// jwtApprovers authenticates approvers with bearer tokens.
type jwtApprovers struct{ r *identity.Resolver }

func (j jwtApprovers) Authenticate(r *http.Request) (approval.Approver, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return approval.Approver{}, errors.New("approver bearer token required (Authorization: Bearer <JWT>)")
	}
	id, err := j.r.Resolve(map[string]string{"authorization": h}, nil)
	if err != nil {
		return approval.Approver{}, err
	}
	if id.Source != policy.SourceJWT || id.ID == "" {
		return approval.Approver{}, errors.New("approver bearer token required")
	}
	return approval.Approver{ID: id.ID, Groups: id.Groups}, nil
}

func (jwtApprovers) Mode() string { return "jwt" }

// consoleStatus reports the running policy version and the audit chain,
// verified at most every few seconds.
func (g *Gateway) consoleStatus() func(context.Context) console.Status {
	var mu sync.Mutex
	var last time.Time
	var cached *console.AuditStatus
	return func(context.Context) console.Status {
		st := console.Status{PolicyVersion: g.PolicyVersion()}
		cfg := g.cfg.Load()
		if !cfg.Audit.Enabled() || g.audit == nil {
			st.Audit = &console.AuditStatus{Enabled: false}
			return st
		}
		mu.Lock()
		defer mu.Unlock()
		if cached == nil || time.Since(last) > 5*time.Second {
			a := &console.AuditStatus{Enabled: true, Dropped: g.audit.Stats().Dropped, CheckedAt: time.Now().UTC().Format(time.RFC3339)}
			if err := g.audit.Sync(); err != nil {
				a.Detail = "sync: " + err.Error()
			} else if rep, err := audit.Verify(cfg.Audit.Dir, nil); err != nil {
				a.Detail = err.Error()
			} else {
				a.Valid, a.Records, a.LastSeq = rep.Valid(), rep.Records, rep.LastSeq
				if rep.Break != nil {
					a.Detail = rep.Break.String()
				}
			}
			cached, last = a, time.Now()
		}
		st.Audit = cached
		return st
	}
}

// meteredRecorder counts approval transitions by outcome, then passes
// them on (to the audit log when there is one).
type meteredRecorder struct {
	tel  *telemetry.Telemetry
	next approval.Recorder
}

func (m meteredRecorder) Record(ctx context.Context, e approval.Event) error {
	switch e.Kind {
	case approval.EventRequested, approval.EventApproved, approval.EventRejected, approval.EventExpired, approval.EventUsed:
		m.tel.Approval(e.Kind)
	case approval.EventInvalid:
		m.tel.Approval("refused")
	}
	if m.next == nil {
		return nil
	}
	return m.next.Record(ctx, e)
}

// auditRecorder writes approval transitions to the hash-chained audit log,
// content-free: ids, names, score and factors; the approver in rule_ids.
type auditRecorder struct{ l *audit.Log }

func (a auditRecorder) Record(_ context.Context, e approval.Event) error {
	d := audit.DecisionApproval
	switch e.Kind {
	case approval.EventApproved, approval.EventUsed:
		d = audit.DecisionAllow
	case approval.EventRejected, approval.EventExpired, approval.EventInvalid:
		d = audit.DecisionBlock
	}
	r := audit.NewRecord(audit.PlaneRequest, d)
	r.Time = e.Time
	r.Rules = append(r.Rules, "approval:"+e.Kind)
	if q := e.Request; q != nil {
		b := q.Binding
		r.DecisionID, r.Agent, r.Server, r.Tool, r.Method = q.ID, b.Principal, b.Server, b.Tool, b.Method
		r.PolicyVersion, r.Risk = b.PolicyVersion, b.Score
		if b.Rule != "" {
			r.Rules = append(r.Rules, b.Rule)
		}
		for _, f := range b.Factors {
			r.Factors = append(r.Factors, audit.Factor{Name: f.Name, Score: f.Score, Weight: f.Weight, Reason: f.Reason})
		}
	} else {
		r.Agent = e.By
	}
	switch {
	case e.Channel != "":
		r.Rules = append(r.Rules, "channel:"+e.Channel)
	case e.By != "" && (e.Request == nil || e.By != e.Request.Binding.Principal || e.Kind == approval.EventVote || e.Kind == approval.EventApproved || e.Kind == approval.EventRejected):
		by := "approver:" + e.By
		if e.Insecure {
			by += " (unauthenticated)"
		}
		r.Rules = append(r.Rules, by)
	}
	if d == audit.DecisionBlock {
		r.ErrorType = "approval_" + e.Kind
	}
	return a.l.Append(r)
}
