package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

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

	conn     *grpc.ClientConn
	proxy    atomic.Pointer[dataplane.Proxy]
	proxyLis net.Listener
	proxySrv *http.Server

	adminLis net.Listener
	adminSrv *http.Server

	xds    *xds.Server
	xdsLis net.Listener

	tel      *telemetry.Telemetry
	policies *policy.Store
	audit    *audit.Log
	stops    []func()
	finals   []func() // run last, after every listener stopped (trace flush)

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Options tune Start.
type Options struct {
	Logger *slog.Logger
	// Telemetry replaces the default metrics/tracing hub (tests use it to
	// capture spans).
	Telemetry *telemetry.Telemetry
}

// Start binds every configured listener and serves until Close.
func Start(ctx context.Context, cfg *config.Config, opt Options) (*Gateway, error) {
	g := &Gateway{logger: opt.Logger}
	if g.logger == nil {
		g.logger = slog.Default()
	}
	g.cfg.Store(cfg)
	g.tel = opt.Telemetry
	if g.tel == nil {
		g.tel = telemetry.New()
		if err := g.tel.ConfigureTracing(ctx, traceConfig(cfg.Telemetry)); err != nil {
			return nil, err
		}
		g.finals = append(g.finals, g.shutdownTracing) // gateway/observe.go
	}
	declareTools(g.tel, cfg) // gateway/observe.go
	eng, err := g.engines(ctx, cfg)
	if err != nil {
		g.Close()
		return nil, err
	}
	g.proc = extproc.NewServer(cfg, extproc.WithLogger(g.logger), extproc.WithEngines(eng))

	if g.extLis, err = listen(cfg.Listen.ExtProc); err != nil {
		return nil, fmt.Errorf("listen.extproc: %w", err)
	}
	// BUFFERED bodies arrive as one gRPC message; flow control is Envoy's job.
	g.grpcSrv = grpc.NewServer(grpc.MaxRecvMsgSize(math.MaxInt32), grpc.MaxSendMsgSize(math.MaxInt32))
	g.proc.Register(g.grpcSrv)
	g.goServe("extproc", func() error { return g.grpcSrv.Serve(g.extLis) })

	if cfg.Listen.Proxy != "" {
		target := dialTarget(g.extLis)
		g.conn, err = grpc.NewClient(target,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)))
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("dial ext_proc %s: %w", target, err)
		}
		p, err := g.buildProxy(cfg)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.proxy.Store(p)
		if g.proxyLis, err = listen(cfg.Listen.Proxy); err != nil {
			g.Close()
			return nil, fmt.Errorf("listen.proxy: %w", err)
		}
		g.proxySrv = &http.Server{
			Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.proxy.Load().ServeHTTP(w, r) }),
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
			g.Close()
			return nil, fmt.Errorf("xds: %w", err)
		}
		if g.xdsLis, err = listen(cfg.Listen.XDS); err != nil {
			g.Close()
			return nil, fmt.Errorf("listen.xds: %w", err)
		}
		xctx, cancel := context.WithCancel(context.Background())
		g.stops = append(g.stops, cancel)
		g.goServe("xds", func() error { return g.xds.Serve(xctx, g.xdsLis) })
	}

	if cfg.Listen.Admin != "" {
		if g.adminLis, err = listen(cfg.Listen.Admin); err != nil {
			g.Close()
			return nil, fmt.Errorf("listen.admin: %w", err)
		}
		g.adminSrv = &http.Server{Handler: g.adminMux(), ReadHeaderTimeout: 10 * time.Second}
		g.goServe("admin", func() error { return g.adminSrv.Serve(g.adminLis) })
	}
	return g, nil
}

// buildProxy maps config servers to data plane routes with the same
// processing modes as envoy/envoy.yaml.
func (g *Gateway) buildProxy(cfg *config.Config) (*dataplane.Proxy, error) {
	get := &dataplane.ProcessingMode{
		RequestHeader: dataplane.HeaderSend, ResponseHeader: dataplane.HeaderSend,
		RequestTrailer: dataplane.HeaderSkip, ResponseTrailer: dataplane.HeaderSkip,
		RequestBody: dataplane.BodyNone, ResponseBody: dataplane.BodyStreamed,
	}
	routes := make([]dataplane.Route, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		up, err := url.Parse(s.URL)
		if err != nil {
			return nil, fmt.Errorf("servers.%s.url: %w", s.Name, err)
		}
		r := dataplane.Route{Name: s.Name, PathPrefix: "/mcp/" + s.Name, Upstream: up,
			Methods: map[string]*dataplane.ProcessingMode{"GET": get}}
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

// Reload swaps in a new validated configuration. Calls in flight finish
// under the configuration they started with.
func (g *Gateway) Reload(cfg *config.Config) error {
	if g.xds != nil {
		// A configuration Envoy would reject pushes nothing and is refused.
		if err := g.xds.Update(cfg); err != nil {
			return fmt.Errorf("xds: %w", err)
		}
	}
	if g.conn != nil {
		p, err := g.buildProxy(cfg)
		if err != nil {
			return err
		}
		g.proxy.Store(p)
	}
	g.proc.Update(cfg)
	g.reloadTelemetry(g.cfg.Load(), cfg) // gateway/observe.go
	g.cfg.Store(cfg)
	return nil
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
		if g.conn != nil {
			_ = g.conn.Close()
		}
		if g.grpcSrv != nil {
			stopped := make(chan struct{})
			go func() { g.grpcSrv.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-ctx.Done():
				g.grpcSrv.Stop()
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
