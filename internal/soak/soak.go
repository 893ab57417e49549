package soak

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"
)

// policyYAML gives every decision kind in the mix a rule.
const policyYAML = `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: soak, version: "1"}
spec:
  mode: enforce
  anonymous: {id: anonymous, trust: medium}
  result: {on_block: notice}
  servers:
    - name: soak
      environment: dev
      tools:
        - {name: search, risk: 5}
        - {name: read_record, risk: 10}
        - {name: fetch_page, risk: 10}
        - {name: run_query, risk: 20}
  rules:
    - name: no-destructive-sql
      action: deny
      to: {servers: [soak], tools: [run_query], planes: [request]}
      when: 'has(args.sql) && args.sql.contains("DROP TABLE")'
    - name: injection-in-result
      action: deny
      result: notice
      to: {planes: [result]}
      when: 'findings.exists(f, f.category == "prompt_injection")'
    - name: redact-pii-in-results
      action: redact
      redact: {style: mask}
      to: {planes: [result]}
      when: 'findings.exists(f, f.detector == "pii" || f.detector == "secret")'
  risk:
    thresholds:
      - {name: low, min: 0, max: 100, action: allow}
`

// Options configure one run.
type Options struct {
	Gateway     string // path of the portcullis binary
	Calls       int64
	Concurrency int
	Sessions    int
	Agents      int
	Warmup      float64 // fraction of calls before growth is judged
	Interval    time.Duration
	Out         string // directory for soak.csv and soak-rss.png
	Bounds      Bounds
}

// Main is the command line: `portcullis-soak [flags]`.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portcullis-soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{}
	fs.StringVar(&o.Gateway, "gateway", "bin/portcullis", "path of the portcullis binary to run")
	fs.Int64Var(&o.Calls, "calls", 1_000_000, "tool calls to send")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "calls in flight at once")
	fs.IntVar(&o.Sessions, "sessions", 500, "distinct MCP session ids")
	fs.IntVar(&o.Agents, "agents", 25, "distinct agent identities")
	fs.Float64Var(&o.Warmup, "warmup", 0.2, "fraction of the calls before growth is judged")
	fs.DurationVar(&o.Interval, "sample", 2*time.Second, "sampling interval")
	fs.StringVar(&o.Out, "out", ".portcullis/soak", "directory for soak.csv and soak-rss.png")
	rssMiB := fs.Int64("max-rss-growth-mib", 64, "largest RSS growth after warm-up (MiB)")
	fs.Int64Var(&o.Bounds.Goroutines, "max-goroutine-growth", 64, "largest goroutine growth after warm-up")
	fs.Int64Var(&o.Bounds.FDs, "max-fd-growth", 32, "largest open-file growth after warm-up")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.Bounds.RSSBytes = *rssMiB << 20
	if o.Calls < 1 || o.Concurrency < 1 || o.Sessions < 1 || o.Agents < 1 || o.Warmup < 0 || o.Warmup >= 1 || o.Interval <= 0 {
		return fmt.Errorf("calls, concurrency, sessions, agents and sample must be positive and warmup in [0,1)")
	}
	return Run(ctx, o, stdout)
}

// Run starts an upstream and the gateway, drives the calls, samples, and
// reports. It returns an error when a call got an unexpected answer or a
// resource grew past its bound.
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tmp, err := os.MkdirTemp("", "portcullis-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	up := &upstream{}
	upLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	upSrv := &http.Server{Handler: up, ReadHeaderTimeout: 10 * time.Second}
	go upSrv.Serve(upLis) //nolint:errcheck // closed below
	defer upSrv.Close()

	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	proxy, extproc, admin := ports[0], ports[1], ports[2]
	pol := filepath.Join(tmp, "policy.yaml")
	cfg := filepath.Join(tmp, "portcullis.yaml")
	if err := os.WriteFile(pol, []byte(policyYAML), 0o600); err != nil {
		return err
	}
	conf := fmt.Sprintf(`listen: {proxy: %s, extproc: %s, admin: %s}
servers:
  - name: soak
    url: http://%s/mcp
    tools: {allow: ["*"], deny: ["delete_*"]}
identity: {header: {name: x-portcullis-agent, trust: medium}}
policy: {file: %s}
audit: {dir: %s}
`, proxy, extproc, admin, upLis.Addr(), pol, filepath.Join(tmp, "audit"))
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(o.Out, "gateway.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, o.Gateway, "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gateway %s: %w", o.Gateway, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	if err := waitReady(ctx, client, "http://"+admin+"/readyz", exited); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(logPath))
	}

	d := newDriver("http://"+proxy+"/mcp/soak", o.Concurrency, o.Sessions, o.Agents)
	pr := probe{pid: cmd.Process.Pid, metricsURL: "http://" + admin + "/metrics", client: client}
	start := time.Now()
	var samples []Sample
	sample := func() error {
		s, err := pr.read(ctx)
		if err != nil {
			return err
		}
		s.Elapsed, s.Calls = time.Since(start), d.done.Load()
		samples = append(samples, s)
		return nil
	}
	if err := sample(); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- d.run(ctx, o.Calls, o.Concurrency) }()
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	var derr error
loop:
	for {
		select {
		case derr = <-runErr:
			break loop
		case err := <-exited:
			return fmt.Errorf("gateway exited during the run: %v\n%s", err, tail(logPath))
		case <-tick.C:
			if err := sample(); err != nil {
				return err
			}
		}
	}
	if err := sample(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	if derr != nil {
		return fmt.Errorf("load: %w\n%s", derr, tail(logPath))
	}

	warm := int64(float64(o.Calls) * o.Warmup)
	g := Check(samples, warm, o.Bounds)
	if err := writeCSV(filepath.Join(o.Out, "soak.csv"), samples); err != nil {
		return err
	}
	pf, err := os.Create(filepath.Join(o.Out, "soak-rss.png"))
	if err != nil {
		return err
	}
	title := fmt.Sprintf("portcullis soak: %d calls, %d in flight, RSS of the gateway process", o.Calls, o.Concurrency)
	if err := errors.Join(PlotRSS(pf, samples, warm, title), pf.Close()); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	report(stdout, o, d, g, elapsed, up.calls.Load())

	var problems []string
	if n := d.counts[Unexpected]; n > 0 {
		problems = append(problems, fmt.Sprintf("%d calls got an unexpected answer; first: %v", n, d.first))
	}
	if forwarded := d.counts[Allowed] + d.counts[Redacted] + d.counts[Notice]; up.calls.Load() != forwarded {
		problems = append(problems, fmt.Sprintf("the upstream received %d calls, but %d were let through: refused calls must never reach it", up.calls.Load(), forwarded))
	}
	problems = append(problems, g.Problems...)
	if len(problems) > 0 {
		return fmt.Errorf("soak failed: %v", problems)
	}
	return nil
}

func report(w io.Writer, o Options, d *driver, g Growth, elapsed time.Duration, upstreamCalls int64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "calls\t%d in %s (%.0f/s), %d in flight, %d sessions, %d agents; upstream saw %d\n",
		d.done.Load(), elapsed.Round(time.Millisecond), float64(d.done.Load())/elapsed.Seconds(), o.Concurrency, o.Sessions, o.Agents, upstreamCalls)
	for _, oc := range []Outcome{Allowed, Redacted, Notice, Blocked, Unexpected} {
		fmt.Fprintf(tw, "  %s\t%d\n", oc, d.counts[oc])
	}
	fmt.Fprintf(tw, "resource\tafter warm-up\tpeak\tgrowth\tbound\n")
	fmt.Fprintf(tw, "RSS (MiB)\t%.1f\t%.1f\t%.1f\t%.1f\n", mib(g.Baseline.RSSBytes), mib(g.Peak.RSSBytes), mib(g.Peak.RSSBytes-g.Baseline.RSSBytes), mib(o.Bounds.RSSBytes))
	fmt.Fprintf(tw, "goroutines\t%d\t%d\t%d\t%d\n", g.Baseline.Goroutines, g.Peak.Goroutines, g.Peak.Goroutines-g.Baseline.Goroutines, o.Bounds.Goroutines)
	fmt.Fprintf(tw, "open files\t%d\t%d\t%d\t%d\n", g.Baseline.FDs, g.Peak.FDs, g.Peak.FDs-g.Baseline.FDs, o.Bounds.FDs)
	fmt.Fprintf(tw, "plot\t%s\n", filepath.Join(o.Out, "soak-rss.png"))
	tw.Flush()
}

func writeCSV(path string, samples []Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"elapsed_s", "calls", "rss_bytes", "goroutines", "fds"})
	for _, s := range samples {
		_ = w.Write([]string{strconv.FormatFloat(s.Elapsed.Seconds(), 'f', 3, 64), strconv.FormatInt(s.Calls, 10),
			strconv.FormatInt(s.RSSBytes, 10), strconv.FormatInt(s.Goroutines, 10), strconv.FormatInt(s.FDs, 10)})
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

// freePorts reserves n loopback ports and releases them for the gateway.
func freePorts(n int) ([]string, error) {
	var out []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// waitReady polls the readiness endpoint until it answers 200, the gateway
// exits, or 60 seconds pass.
func waitReady(ctx context.Context, c *http.Client, url string, exited <-chan error) error {
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("gateway exited before it was ready: %v", err)
		case <-deadline.C:
			return fmt.Errorf("gateway not ready at %s after 60s", url)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "gateway log (tail):\n" + string(b)
}
