package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading of the gateway's resources.
type Sample struct {
	Elapsed    time.Duration
	Calls      int64
	RSSBytes   int64
	Goroutines int64
	FDs        int64
}

// probe reads the resources of one process.
type probe struct {
	pid        int
	metricsURL string
	client     *http.Client
}

func (p probe) read(ctx context.Context) (Sample, error) {
	var s Sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return s, fmt.Errorf("read process status: %w", err)
	}
	if s.RSSBytes, err = vmRSS(status); err != nil {
		return s, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
	if err != nil {
		return s, fmt.Errorf("list open files: %w", err)
	}
	s.FDs = int64(len(fds))
	if s.Goroutines, err = p.goroutines(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// vmRSS parses the VmRSS line of /proc/PID/status (in kB).
func vmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", f[1], err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS line in process status")
}

// goroutines scrapes go_goroutines from the gateway's /metrics.
func (p probe) goroutines(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, fmt.Errorf("scrape metrics: %w", err)
	}
	return metricValue(body, "go_goroutines")
}

// metricValue finds an unlabelled gauge in Prometheus text format.
func metricValue(body []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s %q: %w", name, rest, err)
			}
			return int64(v), nil
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// Bounds is how much each resource may grow after warm-up.
type Bounds struct {
	RSSBytes   int64
	Goroutines int64
	FDs        int64
}

// Growth is the largest increase over the warm-up baseline.
type Growth struct {
	Baseline Sample
	Peak     Sample // per-field maxima after warm-up
	Problems []string
}

// Check compares every sample taken after warm-up (Calls ≥ warmupCalls)
// with the first such sample. With no sample after warm-up there is nothing
// to judge, which is itself a problem.
func Check(samples []Sample, warmupCalls int64, b Bounds) Growth {
	var g Growth
	i := 0
	for i < len(samples) && samples[i].Calls < warmupCalls {
		i++
	}
	if len(samples)-i < 2 {
		g.Problems = append(g.Problems, fmt.Sprintf("only %d samples after warm-up: the run is too short to judge growth", len(samples)-i))
		return g
	}
	g.Baseline, g.Peak = samples[i], samples[i]
	for _, s := range samples[i+1:] {
		g.Peak.RSSBytes = max(g.Peak.RSSBytes, s.RSSBytes)
		g.Peak.Goroutines = max(g.Peak.Goroutines, s.Goroutines)
		g.Peak.FDs = max(g.Peak.FDs, s.FDs)
	}
	if d := g.Peak.RSSBytes - g.Baseline.RSSBytes; d > b.RSSBytes {
		g.Problems = append(g.Problems, fmt.Sprintf("RSS grew by %.1f MiB after warm-up (bound %.1f MiB)", mib(d), mib(b.RSSBytes)))
	}
	if d := g.Peak.Goroutines - g.Baseline.Goroutines; d > b.Goroutines {
		g.Problems = append(g.Problems, fmt.Sprintf("goroutines grew by %d after warm-up (bound %d)", d, b.Goroutines))
	}
	if d := g.Peak.FDs - g.Baseline.FDs; d > b.FDs {
		g.Problems = append(g.Problems, fmt.Sprintf("open file descriptors grew by %d after warm-up (bound %d)", d, b.FDs))
	}
	return g
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
