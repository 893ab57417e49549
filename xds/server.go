package xds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/log"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/portcullis-mcp/portcullis/config"
)

// Server is an ADS server holding one snapshot for Options.NodeID.
// It is safe for concurrent use.
type Server struct {
	opts   Options
	logger *slog.Logger
	cache  cache.SnapshotCache
	ads    serverv3.Server

	// updateMu serializes Update; it is never taken by stream callbacks, so
	// SetSnapshot (which may wait for a stream to take a response) cannot
	// deadlock with them. mu guards the fields below and is held briefly.
	updateMu sync.Mutex

	mu      sync.Mutex
	seq     uint64
	version string
	nacks   uint64
	// sent is the last response per stream and type, to recognise what a
	// NACK rejects.
	sent map[sentKey]sentResp
}

type sentKey struct {
	stream  int64
	typeURL string
}

type sentResp struct{ nonce, version string }

// New returns a Server with no snapshot: Envoy's requests wait until the
// first successful Update. A nil logger discards.
func New(opts Options, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts.NodeID = cmpOr(opts.NodeID, DefaultNodeID)
	s := &Server{opts: opts, logger: logger.With("component", "xds"), sent: map[sentKey]sentResp{}}
	s.cache = cache.NewSnapshotCache(true, cache.IDHash{}, cacheLogger(s.logger))
	s.ads = serverv3.NewServer(context.Background(), s.cache, serverv3.CallbackFuncs{
		StreamRequestFunc:  s.onRequest,
		StreamResponseFunc: s.onResponse,
		StreamClosedFunc:   s.onClosed,
	})
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Update validates cfg, renders and validates its resources and pushes them
// under a new version. On any error nothing is pushed and the previous
// snapshot stays in place.
func (s *Server) Update(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("xds: update: nil config")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("xds: update: invalid config: %w", err)
	}
	res, err := BuildResources(cfg, s.opts)
	if err != nil {
		return fmt.Errorf("xds: update: %w", err)
	}
	if err := res.Validate(); err != nil {
		return fmt.Errorf("xds: update: invalid resource: %w", err)
	}
	s.updateMu.Lock()
	defer s.updateMu.Unlock()
	s.mu.Lock()
	seq := s.seq + 1
	s.mu.Unlock()
	version := strconv.FormatUint(seq, 10) + "-" + res.Hash()[:12]
	snap, err := res.Snapshot(version)
	if err != nil {
		return fmt.Errorf("xds: update: %w", err)
	}
	if err := snap.Consistent(); err != nil {
		return fmt.Errorf("xds: update: inconsistent snapshot: %w", err)
	}
	if err := s.cache.SetSnapshot(context.Background(), s.opts.NodeID, snap); err != nil {
		return fmt.Errorf("xds: update: set snapshot: %w", err)
	}
	s.mu.Lock()
	s.seq, s.version = seq, version
	s.mu.Unlock()
	s.logger.Info("pushed xDS snapshot", "node", s.opts.NodeID, "version", version,
		"servers", len(cfg.Servers), "clusters", len(res.Clusters))
	return nil
}

// Version is the version of the current snapshot, "" before the first Update.
func (s *Server) Version() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// NACKs counts the discovery requests in which Envoy rejected a config.
func (s *Server) NACKs() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nacks
}

// onRequest counts and logs NACKs. go-control-plane would answer a NACK
// (which carries the last accepted version) by re-sending the rejected
// version at once, and Envoy would reject it again in a tight loop; so a
// NACK of the response just sent on this stream is treated as having
// "seen" that version: the watch stays open and the next Update is pushed.
func (s *Server) onRequest(stream int64, req *discoveryv3.DiscoveryRequest) error {
	if req.GetErrorDetail() != nil {
		s.mu.Lock()
		s.nacks++
		if last, ok := s.sent[sentKey{stream, req.GetTypeUrl()}]; ok && last.nonce == req.GetResponseNonce() {
			req.VersionInfo = last.version
		}
		s.mu.Unlock()
		s.logger.Warn("Envoy rejected xDS config", "node", req.GetNode().GetId(), "type", req.GetTypeUrl(),
			"kept_version", req.GetVersionInfo(), "error", req.GetErrorDetail().GetMessage())
	}
	return nil
}

func (s *Server) onResponse(_ context.Context, stream int64, _ *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
	s.mu.Lock()
	s.sent[sentKey{stream, resp.GetTypeUrl()}] = sentResp{nonce: resp.GetNonce(), version: resp.GetVersionInfo()}
	s.mu.Unlock()
}

func (s *Server) onClosed(stream int64, _ *corev3.Node) {
	s.mu.Lock()
	for k := range s.sent {
		if k.stream == stream {
			delete(s.sent, k)
		}
	}
	s.mu.Unlock()
}

// Register adds the ADS service to an existing gRPC server.
func (s *Server) Register(g *grpc.Server) {
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, s.ads)
}

// Serve serves ADS on lis until ctx is done, then stops gracefully (open
// streams, which Envoy keeps forever, are cut after a short grace period).
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	g := grpc.NewServer(
		grpc.MaxConcurrentStreams(1<<20),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second, PermitWithoutStream: true}),
	)
	s.Register(g)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		stopped := make(chan struct{})
		go func() { g.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			g.Stop()
		}
	}()
	err := g.Serve(lis)
	close(done)
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("xds: serve: %w", err)
	}
	return nil
}

// cacheLogger adapts slog to go-control-plane's logger (debug output dropped).
func cacheLogger(l *slog.Logger) log.Logger {
	return log.LoggerFuncs{
		WarnFunc:  func(f string, a ...any) { l.Warn(fmt.Sprintf(f, a...)) },
		ErrorFunc: func(f string, a ...any) { l.Error(fmt.Sprintf(f, a...)) },
	}
}
