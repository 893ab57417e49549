// Command portcullis-bench measures the ext_proc processor under Envoy-like
// load, side by side with a null processor in the same run (`make bench`).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/extproc/benchharness"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("portcullis-bench", flag.ContinueOnError)
	streamsFlag := fs.String("streams", "1,64", "comma-separated concurrent stream counts")
	dur := fs.Duration("duration", 3*time.Second, "duration per scenario and processor")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Parse([]byte("servers:\n  - name: bench\n    url: http://127.0.0.1:1/mcp\n    tools: {allow: [\"search\"]}\n"))
	if err != nil {
		return err
	}
	proc := extproc.NewServer(cfg, extproc.WithLogger(slog.New(slog.DiscardHandler)))
	pc, stopP, err := benchharness.Serve(proc.Register)
	if err != nil {
		return err
	}
	defer stopP()
	nc, stopN, err := benchharness.Serve(func(g *grpc.Server) { benchharness.NullProcessor{}.Register(g) })
	if err != nil {
		return err
	}
	defer stopN()
	var counts []int
	for _, f := range strings.Split(*streamsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--streams: %q is not a positive integer", f)
		}
		counts = append(counts, n)
	}
	fmt.Fprintf(out, "ext_proc over loopback gRPC (client and server in one process), %s per run, GOMAXPROCS=%d\n\n", *dur, runtimeProcs())
	fmt.Fprintf(out, "%-50s %7s %-11s %9s %9s %9s %11s %7s\n", "scenario", "streams", "processor", "p50", "p95", "p99", "calls/s", "errors")
	for _, n := range counts {
		streams := &n
		for _, sc := range benchharness.ToolCall("bench", "search") {
			null := benchharness.Run(ctx, nc, sc, *streams, *dur)
			port := benchharness.Run(ctx, pc, sc, *streams, *dur)
			for _, r := range []struct {
				name string
				res  benchharness.Result
			}{{"null", null}, {"portcullis", port}} {
				fmt.Fprintf(out, "%-50s %7d %-11s %9s %9s %9s %11.0f %7d\n", sc.Name, *streams, r.name, r.res.P50.Round(time.Microsecond), r.res.P95.Round(time.Microsecond), r.res.P99.Round(time.Microsecond), r.res.PerSecond(), r.res.Errors)
			}
			fmt.Fprintf(out, "%-50s %7s %-11s %8.2fx %8.2fx %8.2fx %10.2fx\n\n", "", "", "ratio", ratio(port.P50, null.P50), ratio(port.P95, null.P95), ratio(port.P99, null.P99), port.PerSecond()/null.PerSecond())
		}
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
