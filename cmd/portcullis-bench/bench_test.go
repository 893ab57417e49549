package main

import (
	"context"
	"io"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"

	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/extproc/benchharness"
	"github.com/portcullis-mcp/portcullis/internal/cputime/cputimetest"
)

// The benchmarks here split portcullis-bench's cpu/call into the processor
// alone (BenchmarkProcessor: the gateway's real engines, no gRPC) and the
// whole exchange over loopback gRPC (BenchmarkGRPC), for each processor
// in the same run. Profile one row with
// -bench 'GRPC/JSON/trust-plane' -cpuprofile.

// scriptStream is an in-memory ext_proc stream: Recv replays a script,
// Send discards.
type scriptStream struct {
	grpc.ServerStream
	ctx    context.Context
	script []*extprocv3.ProcessingRequest
	i      int
}

func (s *scriptStream) Context() context.Context                 { return s.ctx }
func (s *scriptStream) Send(*extprocv3.ProcessingResponse) error { return nil }
func (s *scriptStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if s.i == len(s.script) {
		return nil, io.EOF
	}
	s.i++
	return s.script[s.i-1], nil
}

func startForBench(b *testing.B) []proc {
	b.Helper()
	procs, cleanup, err := startProcessors(context.Background(), "")
	b.Cleanup(cleanup)
	if err != nil {
		b.Fatal(err)
	}
	return procs
}

func scenarioName(sc benchharness.Scenario) string {
	if sc.ResponseCT == "text/event-stream" {
		return "SSE"
	}
	return "JSON"
}

func BenchmarkProcessor(b *testing.B) {
	procs := startForBench(b)
	for _, sc := range benchharness.ToolCall("bench", "search") {
		script := benchharness.Messages(&sc)
		b.Run(scenarioName(sc), func(b *testing.B) {
			for _, p := range procs {
				serve := func() error {
					return extproc.Serve(&scriptStream{ctx: context.Background(), script: script}, extproc.NullProcessor{}, nil)
				}
				if p.gw != nil {
					srv := p.gw.Processor()
					serve = func() error { return srv.Process(&scriptStream{ctx: context.Background(), script: script}) }
				}
				b.Run(p.name, func(b *testing.B) {
					b.ReportAllocs()
					cputimetest.Loop(b, func() {
						if err := serve(); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		})
	}
}

func BenchmarkGRPC(b *testing.B) {
	procs := startForBench(b)
	ctx := context.Background()
	for _, sc := range benchharness.ToolCall("bench", "search") {
		b.Run(scenarioName(sc), func(b *testing.B) {
			for _, p := range procs {
				b.Run(p.name, func(b *testing.B) {
					b.ReportAllocs()
					cputimetest.Loop(b, func() {
						if err := benchharness.OneCall(ctx, p.c, &sc); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		})
	}
}
