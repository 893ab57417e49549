package main

import (
	"context"
	"slices"
	"testing"

	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/extproc/benchharness"
	"github.com/portcullis-mcp/portcullis/internal/cputime"
	"github.com/portcullis-mcp/portcullis/internal/cputime/cputimetest"
	"github.com/portcullis-mcp/portcullis/internal/scriptstream"
)

// The benchmarks here split portcullis-bench's cpu/call into the processor
// alone (BenchmarkProcessor: the gateway's real engines, no gRPC) and the
// whole exchange over loopback gRPC (BenchmarkGRPC), for each processor
// in the same run. Profile one row with
// -bench 'GRPC/JSON/trust-plane' -cpuprofile.

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
					return extproc.Serve(scriptstream.New(script), extproc.NullProcessor{}, nil)
				}
				if p.gw != nil {
					srv := p.gw.Processor()
					serve = func() error { return srv.Process(scriptstream.New(script)) }
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

// BenchmarkGRPC runs each processor over loopback gRPC, with
// benchharness.HoldProcessor ("null-hold") after null: the SSE floor, what
// any processor that holds split events back must pay over null.
func BenchmarkGRPC(b *testing.B) {
	procs := startForBench(b)
	hc, stop, err := benchharness.Serve(benchharness.HoldProcessor{}.Register)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	procs = slices.Insert(procs, 1, proc{name: "null-hold", c: hc})
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

// BenchmarkGRPCCapacity measures CPU capacity relative to the null
// processor with fine interleaving, for a machine others load: each
// iteration runs a block of calls on every processor in turn (order
// rotated), and the reported capacity is the median over iterations of
// null's CPU per call over the processor's within the iteration, so load
// that changes over seconds affects both sides of each ratio alike.
// -benchtime 30x is 30 blocks per processor.
func BenchmarkGRPCCapacity(b *testing.B) {
	const block = 100
	if cputime.Process() == 0 {
		b.Skip("process CPU time is not available on this platform")
	}
	all := startForBench(b)
	hc, stop, err := benchharness.Serve(benchharness.HoldProcessor{}.Register)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	procs := []proc{all[0], {name: "null-hold", c: hc}}
	for _, p := range all[1:] {
		if p.name == "trust-plane" {
			procs = append(procs, p)
		}
	}
	ctx := context.Background()
	for _, sc := range benchharness.ToolCall("bench", "search") {
		b.Run(scenarioName(sc), func(b *testing.B) {
			perCall := make([][]float64, len(procs)) // µs per call, per iteration
			for i := 0; i < b.N; i++ {
				for k := range procs {
					j := (i + k) % len(procs)
					t0 := cputime.Process()
					for n := 0; n < block; n++ {
						if err := benchharness.OneCall(ctx, procs[j].c, &sc); err != nil {
							b.Fatal(err)
						}
					}
					perCall[j] = append(perCall[j], float64(cputime.Process()-t0)/1e3/block)
				}
			}
			for j, p := range procs {
				b.ReportMetric(median(perCall[j]), p.name+"-µs/call")
				if j == 0 {
					continue
				}
				ratios := make([]float64, b.N)
				for i := range ratios {
					ratios[i] = perCall[0][i] / perCall[j][i]
				}
				b.ReportMetric(median(ratios), p.name+"-capacity")
			}
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
