package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// fakeService plays a SIEM or an OTLP collector that can be down
// (nothing listens on its address), hanging (it accepts a request and
// never answers until released or the client gives up) or up.
type fakeService struct {
	t        *testing.T
	addr     string
	mu       sync.Mutex
	srv      *http.Server
	hang     atomic.Bool
	release  chan struct{} // closed by up: held requests are answered
	held     atomic.Int64  // requests that were held and never answered
	answered atomic.Int64  // requests answered 2xx (token calls excluded)
}

func newFakeService(t *testing.T) *fakeService {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeService{t: t, addr: l.Addr().String(), release: make(chan struct{})}
	_ = l.Close() // down until start
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.srv != nil {
			_ = s.srv.Close()
		}
	})
	return s
}

func (s *fakeService) url() string { return "http://" + s.addr }

// start listens on the reserved address; hang says whether requests are held.
func (s *fakeService) start(hang bool) {
	s.t.Helper()
	s.hang.Store(hang)
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("rebind %s: %v", s.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve)}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// up makes the service answer, held requests included.
func (s *fakeService) up() {
	s.hang.Store(false)
	close(s.release)
}

func (s *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if strings.HasSuffix(r.URL.Path, "/token") { // Sentinel's client-credentials endpoint
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"t0k3n","token_type":"Bearer","expires_in":3600}`)
		return
	}
	if s.hang.Load() {
		s.held.Add(1)
		select {
		case <-r.Context().Done(): // the sink gave up (its timeout)
			return
		case <-s.release:
		}
	}
	s.answered.Add(1)
	switch {
	case strings.Contains(r.URL.Path, "/services/collector"):
		_, _ = io.WriteString(w, `{"text":"Success","code":0}`)
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		w.Header().Set("Content-Type", "application/x-protobuf")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// metricValue reads one sample from /metrics (0 when absent).
func metricValue(t *testing.T, admin, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			return f
		}
	}
	return 0
}

// eventually polls cond; the deadline only stops a broken gateway from
// hanging the test (background delivery has its own backoff).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spoolFiles returns the total size of undelivered spool files.
func spoolSize(t *testing.T, dir string) (files int, bytes int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "spool-") && strings.HasSuffix(e.Name(), ".jsonl") {
			fi, err := e.Info()
			if err == nil {
				files++
				bytes += fi.Size()
			}
		}
	}
	return files, bytes
}

// auditRecords counts the records in the audit log's segments.
func auditRecords(t *testing.T, dir string) int {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range segs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(b), "\n")
	}
	return n
}

// sinkYAML is the audit.sinks entry of each sink type, pointed at svc.
func sinkYAML(t *testing.T, typ, svc, extra string) string {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "secret")
	val := "hec-token"
	if typ == "webhook" {
		val = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	}
	if err := os.WriteFile(secret, []byte(val), 0o600); err != nil {
		t.Fatal(err)
	}
	common := fmt.Sprintf("name: siem, type: %s, flush_interval: 10ms, timeout: 200ms, secret_file: %s%s", typ, secret, extra)
	switch typ {
	case "webhook":
		return fmt.Sprintf("{%s, url: %s/hook}", common, svc)
	case "splunk":
		return fmt.Sprintf("{%s, url: %s}", common, svc)
	case "sentinel":
		return fmt.Sprintf("{%s, url: %s, dcr_id: dcr-0123, stream: Custom-MCP_CL, token_url: %s/token, client_id: app}", common, svc, svc)
	case "otlp":
		return fmt.Sprintf("{name: siem, type: otlp, flush_interval: 10ms, timeout: 200ms, url: %s/v1/logs%s}", svc, extra)
	}
	t.Fatalf("unknown sink type %s", typ)
	return ""
}

// startSinkGateway runs one gateway with the audit log, one sink and an
// admin listener; extraYAML is appended at the top level.
func startSinkGateway(t *testing.T, sink, extraYAML string) (url, admin, auditDir string, up *faultUpstream) {
	t.Helper()
	up = &faultUpstream{}
	tools := newUpstream(t, up)
	auditDir = filepath.Join(t.TempDir(), "audit")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - {name: tools, url: %s/mcp, tools: {allow: ["*"]}}
audit: {dir: %s, commit: {every: 1, interval: 1ms}, sinks: [%s]}
%s`, tools.srv.URL, auditDir, sink, extraYAML)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return "http://" + gw.ProxyAddr() + "/mcp/tools", gw.AdminAddr(), auditDir, up
}

// callsGoThrough makes n calls and checks each was answered by the
// upstream: the sink's state never holds a call.
func callsGoThrough(t *testing.T, url string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if got := callTool(t, url, "s1", i, "echo", fmt.Sprintf(`,"arguments":{"n":%d}`, i)); !strings.Contains(got, "echo") {
			t.Fatalf("call %d: %s", i, got)
		}
	}
}

// TestFaultSinkDownThenSlow: each SIEM sink type, and the OTLP logs
// collector, first unreachable, then hanging, then up. Calls go through at
// once in every phase (records are spooled, never sent on the call path);
// failed attempts are counted on /metrics; once the service answers,
// every spooled record is delivered and counted, and the spool empties.
func TestFaultSinkDownThenSlow(t *testing.T) {
	for _, typ := range []string{"webhook", "splunk", "sentinel", "otlp"} {
		t.Run(typ, func(t *testing.T) {
			svc := newFakeService(t)
			url, admin, auditDir, up := startSinkGateway(t, sinkYAML(t, typ, svc.url(), ""), "")
			spool := filepath.Join(auditDir, "spool", "siem")
			errs := `portcullis_sink_errors_total{sink="siem"}`
			delivered := `portcullis_sink_delivered_total{sink="siem"}`

			// Down: nothing listens.
			callsGoThrough(t, url, 1, 5)
			eventually(t, "a failed delivery counted while the service is down", func() bool { return metricValue(t, admin, errs) >= 1 })

			// Slow: the service takes requests and never answers.
			svc.start(true)
			before := metricValue(t, admin, errs)
			callsGoThrough(t, url, 100, 5)
			eventually(t, "a held request timed out and counted", func() bool {
				return svc.held.Load() >= 1 && metricValue(t, admin, errs) > before
			})
			if n := svc.answered.Load(); n != 0 {
				t.Fatalf("service answered %d requests while hanging", n)
			}
			if metricValue(t, admin, delivered) != 0 {
				t.Fatal("delivered counted while the service never answered")
			}
			if files, _ := spoolSize(t, spool); files == 0 {
				t.Fatal("nothing spooled while the service was down")
			}
			if n := len(up.received()); n != 10 {
				t.Fatalf("upstream received %d calls, want 10", n)
			}

			// Up: the spool drains, every record is delivered and counted.
			svc.up()
			records := auditRecords(t, auditDir)
			eventually(t, "the spool drained", func() bool {
				files, _ := spoolSize(t, spool)
				return files == 0 && metricValue(t, admin, delivered) >= float64(records)
			})
			if metricValue(t, admin, `portcullis_sink_last_success_timestamp_seconds{sink="siem"}`) == 0 {
				t.Error("last success not stamped")
			}
			if d := metricValue(t, admin, `portcullis_sink_dropped_total{sink="siem"}`); d != 0 {
				t.Errorf("%v records dropped with room in the spool", d)
			}
		})
	}
}

// TestFaultSinkSpoolBounded: a SIEM down for long fills at most
// max_spool_bytes of disk; records past it are dropped for that sink and
// counted, while calls keep going through and the audit log keeps them.
func TestFaultSinkSpoolBounded(t *testing.T) {
	svc := newFakeService(t) // never started: down for the whole test
	const bound = 4096
	url, admin, auditDir, up := startSinkGateway(t, sinkYAML(t, "webhook", svc.url(), fmt.Sprintf(", max_spool_bytes: %d", bound)), "")
	callsGoThrough(t, url, 1, 30)
	dropped := `portcullis_sink_dropped_total{sink="siem"}`
	eventually(t, "records dropped past the spool bound", func() bool { return metricValue(t, admin, dropped) > 0 })
	if _, size := spoolSize(t, filepath.Join(auditDir, "spool", "siem")); size > bound {
		t.Fatalf("spool holds %d bytes, bound %d", size, bound)
	}
	if n := len(up.received()); n != 30 {
		t.Fatalf("upstream received %d calls, want 30", n)
	}
	// Every request and result decision (60) reaches the audit log (group
	// commit: the last ones may still be in flight when the calls return).
	eventually(t, "every decision in the audit log", func() bool { return auditRecords(t, auditDir) >= 60 })
}

// TestFaultOTLPTraceCollectorSlow: the OTLP trace collector hangs: calls go
// through at once (spans are batched and exported in the background), and
// spans arrive once the collector answers.
func TestFaultOTLPTraceCollectorSlow(t *testing.T) {
	svc := newFakeService(t)
	svc.start(true)
	url, _, _, up := startSinkGateway(t, sinkYAML(t, "webhook", newFakeService(t).url(), ""),
		fmt.Sprintf("telemetry: {exporter: otlp, otlp_traces_url: %s/v1/traces}", svc.url()))
	callsGoThrough(t, url, 1, 10)
	// An export is held by the collector; calls still go straight through.
	eventually(t, "an export held by the collector", func() bool { return svc.held.Load() >= 1 })
	callsGoThrough(t, url, 50, 10)
	if n := len(up.received()); n != 20 {
		t.Fatalf("upstream received %d calls, want 20", n)
	}
	if svc.answered.Load() != 0 {
		t.Fatal("the hanging collector answered")
	}
	svc.up()
	eventually(t, "spans exported once the collector answers", func() bool { return svc.answered.Load() >= 1 })
}
