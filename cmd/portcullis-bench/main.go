// Command portcullis-bench measures the ext_proc processor under Envoy-like
// load, side by side with a null processor in the same run (`make bench`).
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/portcullis-mcp/portcullis/internal/cputime"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc/benchharness"
	"github.com/portcullis-mcp/portcullis/gateway"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-bench:", err)
		os.Exit(1)
	}
}

const benchPolicy = `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: bench, version: "1"}
spec:
  anonymous: {id: anonymous, trust: medium}
  servers:
    - name: bench
      environment: dev
      tools: [{name: search, risk: 10}]
  rules:
    - {name: r1, action: deny, to: {tools: [search]}, when: 'has(args.limit) && args.limit > 1000'}
    - {name: r2, action: deny, to: {tools: [search]}, when: 'has(args.query) && args.query.contains("DROP TABLE")'}
    - {name: r3, action: redact, redact: {style: mask}, to: {planes: [result]}, when: 'findings.exists(f, f.detector == "pii")'}
    - {name: r4, action: deny, result: notice, to: {planes: [result]}, when: 'findings.exists(f, f.category == "prompt_injection")'}
  risk:
    thresholds:
      - {name: low, min: 0, max: 59, action: allow}
      - {name: high, min: 60, max: 100, action: block}
`

// proc is one processor under test and its gRPC client.
type proc struct {
	name string
	c    extprocv3.ExternalProcessorClient
	gw   *gateway.Gateway // nil for the null processor
}

// variants are the gateway configurations measured against the null
// processor, given the directory holding policy.yaml and the audit log.
func variants(dir string) []struct{ name, yaml string } {
	base := "listen: {extproc: 127.0.0.1:0}\nservers:\n  - name: bench\n    url: http://127.0.0.1:1/mcp\n    tools: {allow: [\"search\"]}\n"
	return []struct{ name, yaml string }{
		{"trust-plane", base + "detectors: {enabled: false}\n"},
		{"full", base + fmt.Sprintf("policy: {file: %s}\naudit: {dir: %s}\n", filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit"))},
	}
}

// startProcessors starts the null processor and the gateway variants named
// in only ("" = all) on loopback gRPC. cleanup is never nil and releases
// whatever was started, also after an error.
func startProcessors(ctx context.Context, only string) (procs []proc, cleanup func(), err error) {
	var closers []func()
	cleanup = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	tmp, err := os.MkdirTemp("", "portcullis-bench")
	if err != nil {
		return nil, cleanup, err
	}
	closers = append(closers, func() { os.RemoveAll(tmp) })
	if err := os.WriteFile(filepath.Join(tmp, "policy.yaml"), []byte(benchPolicy), 0o644); err != nil {
		return nil, cleanup, err
	}
	nc, stopN, err := benchharness.Serve(func(g *grpc.Server) { benchharness.NullProcessor{}.Register(g) })
	if err != nil {
		return nil, cleanup, err
	}
	closers = append(closers, stopN)
	procs = []proc{{name: "null", c: nc}}
	for _, v := range variants(tmp) {
		if only != "" && !slices.Contains(strings.Split(only, ","), v.name) {
			continue
		}
		cfg, err := config.Parse([]byte(v.yaml))
		if err != nil {
			return nil, cleanup, fmt.Errorf("%s config: %w", v.name, err)
		}
		gw, err := gateway.Start(ctx, cfg, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, cleanup, fmt.Errorf("%s: %w", v.name, err)
		}
		closers = append(closers, func() { gw.Close() })
		conn, err := grpc.NewClient("passthrough:///"+gw.ExtProcAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
		if err != nil {
			return nil, cleanup, err
		}
		closers = append(closers, func() { conn.Close() })
		procs = append(procs, proc{name: v.name, c: extprocv3.NewExternalProcessorClient(conn), gw: gw})
	}
	return procs, cleanup, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("portcullis-bench", flag.ContinueOnError)
	streamsFlag := fs.String("streams", "1,64", "comma-separated concurrent stream counts")
	dur := fs.Duration("duration", 3*time.Second, "duration per scenario and processor")
	only := fs.String("processors", "", "comma-separated processors to run besides null (default: all)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var counts []int
	for _, f := range strings.Split(*streamsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--streams: %q is not a positive integer", f)
		}
		counts = append(counts, n)
	}
	procs, cleanup, err := startProcessors(ctx, *only)
	defer cleanup()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ext_proc over loopback gRPC (client and server in one process), %s per run, GOMAXPROCS=%d\n", *dur, runtimeProcs())
	fmt.Fprintln(out, "processors: null = CONTINUE to everything; trust-plane = Portcullis with detectors off and no policy;")
	fmt.Fprintln(out, "            full = detectors + 4-rule policy with 7-factor risk + hash-chained audit log (group commit)")
	fmt.Fprintln(out, "allocs/call, B/call and cpu/call count the whole process (bench client + processor): compare with the null row;")
	fmt.Fprintln(out, "cpu/call (user+system CPU time per call) barely moves when other processes load the machine, unlike latency")
	fmt.Fprintf(out, "\n%-50s %7s %-11s %9s %9s %9s %11s %7s %11s %9s %9s\n", "scenario", "streams", "processor", "p50", "p95", "p99", "calls/s", "errors", "allocs/call", "B/call", "cpu/call")
	for _, n := range counts {
		for _, sc := range benchharness.ToolCall("bench", "search") {
			var null benchharness.Result
			var nullCPU time.Duration
			for i, p := range procs {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				cpu0 := cputime.Process()
				r := benchharness.Run(ctx, p.c, sc, n, *dur)
				cpu := cputime.Process() - cpu0
				runtime.ReadMemStats(&after)
				calls := max(1, float64(r.Calls))
				perCall := time.Duration(float64(cpu) / calls)
				if i == 0 {
					null, nullCPU = r, perCall
				}
				fmt.Fprintf(out, "%-50s %7d %-11s %9s %9s %9s %11.0f %7d %11.0f %9.0f %9s", sc.Name, n, p.name,
					r.P50.Round(time.Microsecond), r.P95.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.PerSecond(), r.Errors,
					float64(after.Mallocs-before.Mallocs)/calls, float64(after.TotalAlloc-before.TotalAlloc)/calls, perCall.Round(time.Microsecond))
				if i > 0 {
					fmt.Fprintf(out, "   p50 %+.0fµs vs null, %.2fx throughput, %.2fx CPU capacity", float64(r.P50-null.P50)/1e3, r.PerSecond()/null.PerSecond(),
						float64(nullCPU)/float64(max(1, perCall)))
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out)
		}
	}
	return nil
}
