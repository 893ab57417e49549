package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/envoy/dataplane"
	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/xds"
)

// Gateway is a running Portcullis.
type Gateway struct {
	cfg    atomic.Pointer[config.Config]
	logger *slog.Logger

	proc    *extproc.Server
	grpcSrv *grpc.Server
	extLis  net.Listener

	conn     grpc.ClientConnInterface // the embedded data plane's processor (nil: no proxy)
	proxy    atomic.Pointer[dataplane.Proxy]
	proxyLis net.Listener
	proxySrv *http.Server

	adminLis net.Listener
	adminSrv *http.Server

	xds    *xds.Server
	xdsLis net.Listener
	xdsSrv *grpc.Server

	selfAuth []string               // admin path prefixes with their own authentication
	reloadMu sync.Mutex             // serialises ReloadConfig
	started  atomic.Bool            // Start bound every listener
	stopped  atomic.Pointer[string] // a listener that stopped serving unexpectedly

	inflight inflight // limits.max_inflight_bytes (gateway/inflight.go)
	tel      *telemetry.Telemetry
	now      func() time.Time // Options.Now
	policies *policy.Store
	audit    *audit.Log
	stops    []func()
	finals   []func() // run last, after every listener stopped (trace flush)

	// localReplies meters the data plane's own replies (localreply.go).
	localReplies *localReplies

	wg        sync.WaitGroup
	closeOnce sync.Once

	// approvals decides require_approval calls (gateway/approval.go).
	approvals    *approval.Service
	approvalOpts []approval.Option
}

// Options tune Start.
type Options struct {
	Logger *slog.Logger
	// Telemetry replaces the default metrics/tracing hub (tests use it to
	// capture spans).
	Telemetry *telemetry.Telemetry
	// Now is the clock of the behaviour engine's windows; nil means
	// time.Now (tests inject a fake clock instead of sleeping).
	Now func() time.Time
	// Approval adds options to the approval service (tests inject a clock).
	Approval []approval.Option
}

// Start binds every configured listener and serves until Close.
func Start(ctx context.Context, cfg *config.Config, opt Options) (*Gateway, error) {
	// A control listener beyond loopback without authentication never
	// starts, however the configuration was built.
	if err := cfg.ValidateControl(); err != nil {
		return nil, fmt.Errorf("refusing to start: %w", err)
	}
	g := &Gateway{logger: opt.Logger, approvalOpts: opt.Approval}
	if g.logger == nil {
		g.logger = slog.Default()
	}
	g.cfg.Store(cfg)
	g.tel = opt.Telemetry
	g.now = opt.Now
	if g.tel == nil {
		g.tel = telemetry.New()
		if err := g.tel.ConfigureTracing(ctx, traceConfig(cfg.Telemetry)); err != nil {
			return nil, err
		}
		g.finals = append(g.finals, g.shutdownTracing) // gateway/observe.go
	}
	declareTools(g.tel, cfg) // gateway/observe.go
	g.localReplies = newLocalReplies(g.tel.Registry())
	eng, err := g.engines(ctx, cfg)
	if err != nil {
		g.Close()
		return nil, err
	}
	az, err := g.startAuthz(ctx, cfg)
	if err != nil {
		g.Close()
		return nil, err
	}
	if g.audit != nil && eng.Detector != nil {
		g.audit.SetContentRedactor(auditRedactor(eng.Detector))
	}
	g.proc = extproc.NewServer(cfg, extproc.WithLogger(g.logger), extproc.WithEngines(eng), extproc.WithAuthz(az))
	for _, l := range []struct {
		name string
		auth *config.ListenerAuth
	}{{"admin", &cfg.Listen.AdminAuth}, {"extproc", &cfg.Listen.ExtProcAuth}, {"xds", &cfg.Listen.XDSAuth}} {
		if l.auth.InsecureAllowUnauthenticated && !l.auth.Authenticated() {
			g.logger.Warn("INSECURE: control listener accepts unauthenticated clients (insecure_allow_unauthenticated)", "listener", l.name)
		}
	}

	// Every failure from here on closes what was started (engines, the
	// audit directory lock, listeners) before returning.
	fail := func(err error) (*Gateway, error) {
		g.Close()
		return nil, err
	}
	msgCap := grpcMsgCap(cfg)
	extOpts, err := grpcAuthOptions("extproc", &cfg.Listen.ExtProcAuth)
	if err != nil {
		return fail(err)
	}
	if g.extLis, err = listen(cfg.Listen.ExtProc); err != nil {
		return fail(fmt.Errorf("listen.extproc: %w", err))
	}
	// BUFFERED bodies arrive as one gRPC message: cap it at what the data
	// plane can buffer, not 2 GiB.
	g.grpcSrv = grpc.NewServer(append(append(extOpts, extproc.GRPCServerOptions()...), grpc.MaxRecvMsgSize(msgCap), grpc.MaxSendMsgSize(msgCap))...)
	g.proc.Register(g.grpcSrv)
	g.goServe("extproc", func() error { return g.grpcSrv.Serve(g.extLis) })

	if cfg.Listen.Proxy != "" {
		// The embedded data plane runs the processor in this process: no
		// marshalling, HTTP/2 framing or socket per message (issue 10), and
		// no listener credentials to present.
		g.conn = dataplane.InProcess(g.proc)
		p, err := g.buildProxy(cfg)
		if err != nil {
			return fail(err)
		}
		g.proxy.Store(p)
		g.inflight.refused = func(r *http.Request) {
			g.localReplies.count(http.StatusServiceUnavailable, detailsInflightLimit)
			localAudit{proc: g.proc, log: g.logger}.RecordLocalReply(dataplane.LocalReply{Status: http.StatusServiceUnavailable,
				Details: detailsInflightLimit, Method: r.Method, MCPMethod: r.Header.Get("Mcp-Method")})
		}
		g.inflight.limit = func() (int64, int64) {
			c := g.cfg.Load()
			return c.Limits.MaxInflightBytes, c.Limits.MaxBodyBytes
		}
		if g.proxyLis, err = listen(cfg.Listen.Proxy); err != nil {
			return fail(fmt.Errorf("listen.proxy: %w", err))
		}
		g.proxySrv = &http.Server{
			Handler:           g.wellKnown(g.inflight.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.proxy.Load().ServeHTTP(w, r) }))),
			ReadHeaderTimeout: 10 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
		g.goServe("proxy", func() error { return g.proxySrv.Serve(g.proxyLis) })
	}

	if cfg.Listen.XDS != "" {
		x := cfg.XDS
		// Default Envoy's processor address to the bound listener, so port 0
		// and unix sockets work.
		g.xds = xds.New(xds.Options{NodeID: x.NodeID, ListenAddr: x.EnvoyListen, ExtProcAddr: cmp.Or(x.ExtProc, g.extProcURL()),
			AdminAddr: x.Admin, MaxMessageTimeout: x.MaxMessageTimeout}, g.logger)
		if err := g.xds.Update(cfg); err != nil {
			return fail(fmt.Errorf("xds: %w", err))
		}
		xopts, err := grpcAuthOptions("xds", &cfg.Listen.XDSAuth)
		if err != nil {
			return fail(err)
		}
		if g.xdsLis, err = listen(cfg.Listen.XDS); err != nil {
			return fail(fmt.Errorf("listen.xds: %w", err))
		}
		g.xdsSrv = grpc.NewServer(append(xopts,
			grpc.MaxConcurrentStreams(1<<20),
			grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 5 * time.Second}),
			grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second, PermitWithoutStream: true}),
		)...)
		g.xds.Register(g.xdsSrv)
		g.goServe("xds", func() error { return g.xdsSrv.Serve(g.xdsLis) })
	}

	if cfg.Listen.Admin != "" {
		tc, err := serverTLS(cfg.Listen.AdminAuth.TLS)
		if err != nil {
			return fail(fmt.Errorf("listen.admin_auth.%w", err))
		}
		tok, err := cfg.Listen.AdminAuth.Token()
		if err != nil {
			return fail(fmt.Errorf("listen.admin_auth: %w", err))
		}
		if g.adminLis, err = listen(cfg.Listen.Admin); err != nil {
			return fail(fmt.Errorf("listen.admin: %w", err))
		}
		// OAuth protected-resource metadata is public (clients fetch it before
		// they hold a token), so it is served outside the admin guard.
		g.adminSrv = &http.Server{Handler: g.wellKnown(adminGuard(g.adminMux(), func() []string { return g.cfg.Load().Listen.AllowedHosts }, tok, g.isSelfAuthenticated)), ReadHeaderTimeout: 10 * time.Second, TLSConfig: tc}
		if tc != nil {
			g.goServe("admin", func() error { return g.adminSrv.ServeTLS(g.adminLis, "", "") })
		} else {
			g.goServe("admin", func() error { return g.adminSrv.Serve(g.adminLis) })
		}
	}
	g.started.Store(true)
	return g, nil
}

// AdminSelfAuthenticated exempts admin paths under prefix from the admin
// bearer token (listen.admin_auth) because the handlers there authenticate
// their users themselves (an approvals console opened in a browser, which
// cannot send the token). Host and Origin checks still apply. Call it while
// mounting, before the admin listener serves.
func (g *Gateway) AdminSelfAuthenticated(prefix string) {
	g.selfAuth = append(g.selfAuth, prefix)
}

func (g *Gateway) isSelfAuthenticated(path string) bool {
	for _, p := range g.selfAuth {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// buildProxy maps config servers to data plane routes with the same
// processing modes as envoy/envoy.yaml.
func (g *Gateway) buildProxy(cfg *config.Config) (*dataplane.Proxy, error) {
	get := &dataplane.ProcessingMode{
		RequestHeader: dataplane.HeaderSend, ResponseHeader: dataplane.HeaderSend,
		RequestTrailer: dataplane.HeaderSkip, ResponseTrailer: dataplane.HeaderSkip,
		// BUFFERED: a GET has no body; one that carries a body is sent to
		// the processor, which refuses it (issue 11 #17).
		RequestBody: dataplane.BodyBuffered, ResponseBody: dataplane.BodyStreamed,
	}
	routes := make([]dataplane.Route, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		up, err := url.Parse(s.URL)
		if err != nil {
			return nil, fmt.Errorf("servers.%s.url: %w", s.Name, err)
		}
		r := dataplane.Route{Name: s.Name, PathPrefix: "/mcp/" + s.Name, Upstream: up,
			Methods:              map[string]*dataplane.ProcessingMode{"GET": get},
			RemoveRequestHeaders: upstreamHeadersToRemove}
		if s.Sandbox != "" {
			if r.Sandbox, err = url.Parse(s.Sandbox); err != nil {
				return nil, fmt.Errorf("servers.%s.sandbox: %w", s.Name, err)
			}
		}
		routes = append(routes, r)
	}
	p, err := dataplane.New(dataplane.Config{
		Routes:    routes,
		Filter:    FilterConfig(cfg),
		Processor: g.conn,
		// Twice the processor's limit, so a body over the limit is normally
		// refused by the processor with a JSON-RPC 413 (it checks
		// content-length at header time) rather than by the buffer itself.
		BufferLimit:    2 * cfg.Limits.MaxBodyBytes,
		CatchAllPrefix: "/mcp/",
		Logger:         g.logger,
		LocalReply:     g.localReplies.reply,
		Recorder:       localAudit{proc: g.proc, log: g.logger},
	})
	if err != nil {
		return nil, fmt.Errorf("embedded data plane: %w", err)
	}
	return p, nil
}

// FilterConfig is the ext_proc filter configuration the embedded data plane
// uses; it mirrors envoy/envoy.yaml.
func FilterConfig(cfg *config.Config) dataplane.FilterConfig {
	mode := dataplane.ProcessingMode{
		RequestHeader: dataplane.HeaderSend, ResponseHeader: dataplane.HeaderSend,
		RequestTrailer: dataplane.HeaderSkip, ResponseTrailer: dataplane.HeaderSkip,
		RequestBody: dataplane.BodyBuffered, ResponseBody: dataplane.BodyBuffered,
	}
	sse := mode
	sse.ResponseBody = dataplane.BodyStreamed
	return dataplane.FilterConfig{
		ProcessingMode:       mode,
		MessageTimeout:       cfg.Limits.MessageTimeout,
		MaxMessageTimeout:    300 * time.Second,
		AllowModeOverride:    true,
		AllowedOverrideModes: []dataplane.ProcessingMode{sse},
		StatusOnError:        500,
		MutationRules:        dataplane.MutationRules{DisallowIsError: true},
	}
}

// Reload swaps in a new validated configuration (see ReloadConfig); keys
// that need a restart are logged by name.
func (g *Gateway) Reload(cfg *config.Config) error {
	_, err := g.ReloadConfig(cfg)
	return err
}

// ReloadConfig applies a new validated configuration: servers and tool
// lists, limits, xDS resources and the policy file (a new policy.file is
// loaded now and watched from then on). Calls in flight finish under the
// configuration they started with. On error nothing changes. notApplied
// names every changed key that only takes effect after a restart (it is
// also logged); those keys keep their running values.
func (g *Gateway) ReloadConfig(cfg *config.Config) (notApplied []string, err error) {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	old := g.cfg.Load()
	notApplied = needsRestart(old, cfg)
	var proxy *dataplane.Proxy
	if g.conn != nil {
		if proxy, err = g.buildProxy(cfg); err != nil {
			return nil, err
		}
	}
	if err := g.reloadAuthz(cfg); err != nil {
		return nil, err
	}
	if cfg.Policy.File != old.Policy.File && cfg.Policy.File != "" && g.policies != nil {
		// Load first: a bad new policy file leaves everything as it was.
		if err := g.policies.Reload(cfg.Policy.File); err != nil {
			return nil, fmt.Errorf("policy.file: %w", err)
		}
	}
	if g.xds != nil {
		// A configuration Envoy would reject pushes nothing and is refused.
		if err := g.xds.Update(cfg); err != nil {
			return nil, fmt.Errorf("xds: %w", err)
		}
	}
	if proxy != nil {
		g.proxy.Store(proxy)
	}
	g.proc.Update(cfg)
	g.reloadTelemetry(g.cfg.Load(), cfg) // gateway/observe.go
	g.cfg.Store(cfg)
	if len(notApplied) > 0 {
		g.logger.Warn("configuration reloaded, except keys that need a restart (they keep their running values)", "keys", strings.Join(notApplied, ", "))
	}
	return notApplied, nil
}

// needsRestart lists the changed keys that a reload cannot apply. It
// compares everything except the keys known to be reloadable, so a new
// configuration section is reported until its owner makes it reloadable
// (by clearing it here, next to the others).
func needsRestart(old, cfg *config.Config) []string {
	o, n := *old, *cfg
	// Reloadable: applied by ReloadConfig or read per request.
	o.Servers, n.Servers = nil, nil
	o.Limits, n.Limits = config.Limits{}, config.Limits{}
	o.Listen.AllowedHosts, n.Listen.AllowedHosts = nil, nil
	o.Policy.File, n.Policy.File = "", ""
	// Applied by ReloadConfig: telemetry exporters (gateway/observe.go) and
	// the OAuth resource server (gateway/authz.go).
	o.Telemetry, n.Telemetry = config.Telemetry{}, config.Telemetry{}
	o.Identity.OAuth, n.Identity.OAuth = nil, nil
	keys := changedKeys("", reflect.ValueOf(o), reflect.ValueOf(n))
	if (old.Policy.File == "") != (cfg.Policy.File == "") {
		keys = append(keys, "policy.file (adding or removing the policy engine)")
	}
	if grpcMsgCap(cfg) > grpcMsgCap(old) {
		keys = append(keys, "limits.max_body_bytes/max_sse_event_bytes (the gRPC message cap stays at its start value)")
	}
	return keys
}

// changedKeys returns the YAML paths of the leaves that differ.
func changedKeys(path string, a, b reflect.Value) []string {
	if reflect.DeepEqual(a.Interface(), b.Interface()) {
		return nil
	}
	if a.Kind() != reflect.Struct {
		return []string{path}
	}
	var out []string
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			name = strings.ToLower(f.Name)
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		out = append(out, changedKeys(p, a.Field(i), b.Field(i))...)
	}
	if len(out) == 0 {
		out = []string{path}
	}
	return out
}

// NotReady lists why the gateway cannot serve traffic safely now (empty
// when it can): listeners not all up, no policy loaded although one is
// configured, or an audit log that can no longer be written (every audited
// call would be refused).
func (g *Gateway) NotReady() []string {
	var out []string
	if !g.started.Load() {
		out = append(out, "listeners are still starting")
	}
	if n := g.stopped.Load(); n != nil {
		out = append(out, "listener "+*n+" stopped serving")
	}
	if cfg := g.cfg.Load(); cfg.Policy.File != "" && (g.policies == nil || g.policies.Current() == nil) {
		out = append(out, "no policy is loaded from policy.file "+cfg.Policy.File)
	}
	if err := g.audit.Err(); err != nil {
		out = append(out, "audit log is not writable: "+err.Error())
	}
	return out
}

// ReloadPolicy re-reads the policy file now (also done by the file watch).
func (g *Gateway) ReloadPolicy() error {
	cfg := g.cfg.Load()
	if g.policies == nil || cfg.Policy.File == "" {
		return errors.New("no policy file is configured (policy.file)")
	}
	return g.policies.Reload(cfg.Policy.File)
}

// PolicyVersion is the active policy's version ("" without a policy).
func (g *Gateway) PolicyVersion() string {
	if g.policies == nil {
		return ""
	}
	return g.policies.Version()
}

// Telemetry returns the metrics and tracing hub.
func (g *Gateway) Telemetry() *telemetry.Telemetry { return g.tel }

// Processor returns the ext_proc server.
func (g *Gateway) Processor() *extproc.Server { return g.proc }

// ExtProcAddr is the bound ext_proc address.
func (g *Gateway) ExtProcAddr() string { return g.extLis.Addr().String() }

// ProxyAddr is the bound data plane address ("" if disabled).
func (g *Gateway) ProxyAddr() string {
	if g.proxyLis == nil {
		return ""
	}
	return g.proxyLis.Addr().String()
}

// extProcURL is the bound ext_proc address as xDS expects it.
func (g *Gateway) extProcURL() string {
	if g.extLis.Addr().Network() == "unix" {
		return "unix://" + g.extLis.Addr().String()
	}
	return g.extLis.Addr().String()
}

// XDSAddr is the bound ADS address ("" if disabled).
func (g *Gateway) XDSAddr() string {
	if g.xdsLis == nil {
		return ""
	}
	return g.xdsLis.Addr().String()
}

// XDS returns the ADS server (nil if disabled).
func (g *Gateway) XDS() *xds.Server { return g.xds }

// AdminAddr is the bound admin address ("" if disabled).
func (g *Gateway) AdminAddr() string {
	if g.adminLis == nil {
		return ""
	}
	return g.adminLis.Addr().String()
}

// Close stops every listener and waits for the serving goroutines.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if g.proc != nil {
			g.proc.Shutdown()
		}
		for _, stop := range g.stops {
			stop()
		}
		if g.proxySrv != nil {
			// Long-lived SSE streams never go idle: after the grace period
			// close them so shutdown cannot hang.
			if err := g.proxySrv.Shutdown(ctx); err != nil {
				_ = g.proxySrv.Close()
			}
		}
		if g.adminSrv != nil {
			_ = g.adminSrv.Shutdown(ctx)
		}
		for _, srv := range []*grpc.Server{g.grpcSrv, g.xdsSrv} {
			if srv == nil {
				continue
			}
			stopped := make(chan struct{})
			go func() { srv.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-ctx.Done():
				srv.Stop()
			}
		}
		g.wg.Wait()
		if g.audit != nil {
			if err := g.audit.Close(); err != nil {
				g.logger.Error("audit log close", "error", err)
			}
		}
		for _, f := range g.finals {
			f()
		}
	})
	return nil
}

func (g *Gateway) goServe(name string, serve func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
			g.stopped.Store(&name)
			g.logger.Error("listener stopped", "listener", name, "error", err)
		}
	}()
}

func (g *Gateway) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "text/plain")
		if problems := g.NotReady(); len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready:\n- %s\n", strings.Join(problems, "\n- "))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", g.tel.Handler())
	mux.HandleFunc("POST /admin/reload", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "text/plain")
		if err := g.ReloadPolicy(); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = fmt.Fprintf(w, "reload failed; the running policy is unchanged:\n%v\n", err)
			return
		}
		_, _ = fmt.Fprintf(w, "policy %s active\n", g.PolicyVersion())
	})
	g.mountApprovals(mux)
	return mux
}

// listen binds "host:port" or "unix:///path".
func listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", addr)
}

func dialTarget(l net.Listener) string {
	if l.Addr().Network() == "unix" {
		return "unix://" + l.Addr().String()
	}
	return "passthrough:///" + l.Addr().String()
}
