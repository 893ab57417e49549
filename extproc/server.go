package extproc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/mcp"
)

// Server implements the ext_proc ExternalProcessor service.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer

	rt     atomic.Pointer[Runtime]
	logger *slog.Logger
	health *health.Server
	eng    Engines
	phase  PhaseFunc // per-phase latency, nil without telemetry
	annot  annotationCache
	az     atomic.Pointer[Authz] // upstream_auth.go
	// withheld and serverRequests are shared by the streams of all calls.
	withheld       withheldTools
	serverRequests serverRequestMethods
}

// ServerMetadataKey is the gRPC initial-metadata key naming the MCP server
// when the HTTP path does not (sidecar deployments).
const ServerMetadataKey = "x-portcullis-server"

// streamWorkers is how many goroutines the ext_proc gRPC server keeps to
// run streams on (GRPCServerOptions). Every HTTP exchange is a new stream;
// on a fresh goroutine its stack grows (and is copied) while the pipeline
// runs, a cost a reused worker mostly avoids. Streams beyond this many in
// flight get a goroutine of their own, as without workers.
const streamWorkers = 64

// GRPCServerOptions are the gRPC server options the ext_proc listener
// should use (the gateway's, and the benchmarks' null server, so both pay
// the same gRPC costs).
func GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.NumStreamWorkers(streamWorkers)}
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// NewServer returns a processor for a validated configuration.
func NewServer(cfg *config.Config, opts ...Option) *Server {
	s := &Server{logger: slog.Default(), health: health.NewServer()}
	for _, o := range opts {
		o(s)
	}
	s.rt.Store(NewRuntime(cfg))
	if t := s.eng.Telemetry; t != nil {
		// One histogram child per phase, resolved once: no label lookup
		// per message.
		var timers [len(phaseNames)]func(time.Duration)
		for i, name := range phaseNames {
			timers[i] = t.PhaseTimer(name)
		}
		s.phase = func(req *extprocv3.ProcessingRequest, d time.Duration) { timers[phaseIndex(req)](d) }
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(extprocv3.ExternalProcessor_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	return s
}

// Update atomically swaps the configuration. Streams already running keep
// the snapshot they started with.
func (s *Server) Update(cfg *config.Config) { s.rt.Store(NewRuntime(cfg)) }

// Runtime returns the current snapshot.
func (s *Server) Runtime() *Runtime { return s.rt.Load() }

// Register registers the processor and the gRPC health service on g.
func (s *Server) Register(g *grpc.Server) {
	extprocv3.RegisterExternalProcessorServer(g, s)
	healthpb.RegisterHealthServer(g, s.health)
}

// Shutdown marks the health service NOT_SERVING so Envoy drains.
func (s *Server) Shutdown() { s.health.Shutdown() }

// Process implements [extprocv3.ExternalProcessorServer.Process]: the
// shared loop (Serve) with this gateway's per-stream Processor.
func (s *Server) Process(ps extprocv3.ExternalProcessor_ProcessServer) error {
	reserveStack()
	return Serve(ps, s.newStream(ps.Context()), s.phase)
}

// stackReserve is the frame reserveStack puts at the top of a stream's
// goroutine, so the runtime grows the stack there. A goroutine starts
// small (and GC shrinks idle workers) while the pipeline runs deep;
// growing the stack deep inside copies and re-walks every frame of the
// gRPC server, the stream and the pipeline (runtime.newstack was 4-7% of
// the trust plane's CPU, under telemetry.StartCall). At the top, with only
// the gRPC frames below, the copy is cheap.
const stackReserve = 8 << 10

// reserveStack grows the calling goroutine's stack to stackReserve.
//
//go:noinline
func reserveStack() {
	var pad [stackReserve]byte
	keepStack(pad[:])
}

//go:noinline
func keepStack([]byte) {}

// newStream starts the state of one HTTP exchange with the snapshots of
// configuration, policy and behaviour it keeps until it ends. It needs no
// gRPC stream: tests drive handle directly.
func (s *Server) newStream(ctx context.Context) *stream {
	st := &stream{ctx: ctx, srv: s, rt: s.rt.Load()}
	// In an Istio sidecar the path is the server's own (/mcp); the
	// EnvoyFilter names the server in gRPC initial metadata instead.
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ServerMetadataKey); len(v) == 1 {
			st.mdServer = v[0]
		}
	}
	if s.eng.Policy != nil {
		st.pol = s.eng.Policy.Current()
	}
	if s.eng.Behavior != nil {
		st.beh = s.eng.Behavior.Current()
	}
	return st
}

// safeHandle converts a panic on hostile input into a fail-closed reply.
func (st *stream) safeHandle(req *extprocv3.ProcessingRequest) (resp *extprocv3.ProcessingResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			st.srv.logger.Error("ext_proc handler panic", "panic", r, "stack", string(debug.Stack()))
			resp, err = st.internalError(fmt.Errorf("internal error: %v", r))
		}
	}()
	return st.handle(req)
}

// internalError ends the call with a JSON-RPC internal error where a local
// reply is still possible, and with a gRPC error otherwise.
func (st *stream) internalError(cause error) (*extprocv3.ProcessingResponse, error) {
	if st.sse && st.status != 0 {
		return nil, cause
	}
	return st.refuse(500, st.lone, mcp.CodeInternalError, "the gateway failed to process this message and refused it", nil, "portcullis_internal_error"), nil
}

// phaseNames label the per-phase latency histogram (bounded set), indexed
// by phaseIndex.
var phaseNames = [...]string{"unknown", "request_headers", "request_body", "request_trailers", "response_headers", "response_body", "response_trailers"}

// phaseIndex is the index in phaseNames of the message's phase.
func phaseIndex(req *extprocv3.ProcessingRequest) int {
	switch req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return 1
	case *extprocv3.ProcessingRequest_RequestBody:
		return 2
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return 3
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return 4
	case *extprocv3.ProcessingRequest_ResponseBody:
		return 5
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return 6
	}
	return 0
}
