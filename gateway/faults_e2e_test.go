package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// faultUpstream is a plain JSON MCP server: tools/call "pii" returns a
// customer record with PII, "echo" returns its arguments; every call it
// receives is recorded.
type faultUpstream struct {
	mu    sync.Mutex
	calls []string // tool + " " + raw arguments
}

func (f *faultUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"params"`
	}
	_ = json.Unmarshal(b, &m)
	w.Header().Set("Content-Type", "application/json")
	switch m.Method {
	case "tools/list":
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"pii","inputSchema":{"type":"object"}},{"name":"echo","inputSchema":{"type":"object"}}]}}`, m.ID)
	case "tools/call":
		f.mu.Lock()
		f.calls = append(f.calls, m.Params.Name+" "+string(m.Params.Arguments))
		f.mu.Unlock()
		text := "Customer Jane Doe, email jane.doe@acme.example"
		if m.Params.Name == "echo" {
			text = "echo " + string(m.Params.Arguments)
		}
		out, _ := json.Marshal(text)
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":%s}]}}`, m.ID, out)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func (f *faultUpstream) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

const sessionHdr = "Mcp-Session-Id"

func callTool(t *testing.T, url, session string, id int, tool, args string) string {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q%s}}`, id, tool, args)
	_, b := post(t, url, "application/json", body, map[string]string{sessionHdr: session, "MCP-Protocol-Version": "2025-06-18"})
	return string(b)
}

func openPinsAndLimits(c *config.Config) {
	c.State.OnUnavailable.Pins, c.State.OnUnavailable.RateLimits = config.FailOpen, config.FailOpen
}

// TestFaultRedisDownAtStart: a gateway whose Redis is down starts, refuses
// what needs shared state (pins fail closed: nothing reaches the
// upstream), and recovers by itself when Redis comes up.
func TestFaultRedisDownAtStart(t *testing.T) {
	up := &faultUpstream{}
	rs := startReplicasWith(t, 1, up, nil, func(rs *replicaSet) { rs.redis.Stop() })
	url := rs.url(0, "tools")
	got := callTool(t, url, "s1", 1, "echo", `,"arguments":{"x":"hello"}`)
	// Surrogates are restored before anything decides (issue 11 #14), so
	// the vault is the first piece of shared state a call needs.
	if !strings.Contains(got, "shared surrogate vault (state.redis) is unavailable") {
		t.Fatalf("call with Redis down not refused with a clear reason: %s", got)
	}
	if n := len(up.received()); n != 0 {
		t.Fatalf("upstream received %d calls while shared state was down", n)
	}
	rs.redis.Restart(nil)
	got = callTool(t, url, "s1", 2, "echo", `,"arguments":{"x":"hello"}`)
	if !strings.Contains(got, `echo {\"x\":\"hello\"}`) {
		t.Fatalf("gateway did not recover when Redis came up: %s", got)
	}
}

// TestFaultRedisDownVaultFailsClosed: with pins and rate limits opened, a
// Redis outage still never lets PII or surrogates through: a result with
// PII is withheld (the vault cannot mint surrogates), and a call whose
// arguments might carry surrogates is refused before the upstream.
func TestFaultRedisDownVaultFailsClosed(t *testing.T) {
	up := &faultUpstream{}
	rs := startReplicasWith(t, 1, up, openPinsAndLimits, func(rs *replicaSet) { rs.redis.Stop() })
	url := rs.url(0, "tools")
	got := callTool(t, url, "s1", 1, "pii", "")
	if strings.Contains(got, "jane.doe") || !strings.Contains(got, "could not redact this") || !strings.Contains(got, "withheld it") {
		t.Fatalf("result with PII while the vault is down: %s", got)
	}
	got = callTool(t, url, "s1", 2, "echo", `,"arguments":{"to":"[EMAIL_1]"}`)
	if !strings.Contains(got, "shared surrogate vault (state.redis) is unavailable") {
		t.Fatalf("call needing the vault not refused: %s", got)
	}
	if calls := up.received(); len(calls) != 1 || calls[0] != "pii " {
		t.Fatalf("upstream received %q, want only the argument-less pii call", calls)
	}
}

// TestFaultRedisDownMidRun: a surrogate minted on replica 0; Redis stops;
// sending it back through replica 1 is refused (never forwarded as a
// surrogate or in clear), and so is a rate-limited call. After Redis comes
// back empty (no persistence), the old surrogate is forwarded as is: the
// vault is gone, no clear value leaks.
func TestFaultRedisDownMidRun(t *testing.T) {
	up := &faultUpstream{}
	rs := startReplicas(t, 2, up, nil)
	got := callTool(t, rs.url(0, "tools"), "s1", 1, "pii", "")
	if strings.Contains(got, "jane.doe") || !strings.Contains(got, "[EMAIL_1]") {
		t.Fatalf("lookup: %s", got)
	}
	rs.redis.Stop()
	got = callTool(t, rs.url(1, "tools"), "s1", 2, "echo", `,"arguments":{"to":"[EMAIL_1]"}`)
	if !strings.Contains(got, "shared surrogate vault (state.redis) is unavailable") {
		t.Fatalf("call during the outage not refused: %s", got)
	}
	if calls := up.received(); len(calls) != 1 {
		t.Fatalf("upstream received %q during the outage", calls)
	}
	rs.redis.Restart(nil)
	got = callTool(t, rs.url(1, "tools"), "s1", 3, "echo", `,"arguments":{"to":"[EMAIL_1]"}`)
	if strings.Contains(got, "jane.doe") || !strings.Contains(got, `[EMAIL_1]`) {
		t.Fatalf("after Redis came back empty: %s", got)
	}
}

// stallProxy forwards TCP to Redis and can stop forwarding replies, which
// makes Redis look slow without any timing in the test.
type stallProxy struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	gate    sync.RWMutex
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	t.Cleanup(func() { p.release(); _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *stallProxy) serve(c net.Conn) {
	defer c.Close()
	r, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer r.Close()
	go func() { _, _ = io.Copy(r, c); _ = r.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.gate.RLock() // blocks while stalled
			_, werr := c.Write(buf[:n])
			p.gate.RUnlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() { p.gate.Lock(); p.stalled.Store(true) }
func (p *stallProxy) release() {
	if p.stalled.CompareAndSwap(true, false) {
		p.gate.Unlock()
	}
}

// TestFaultRedisSlow: Redis answers slower than state.redis.read_timeout:
// calls are refused (fail closed) instead of waiting or passing, and work
// again once Redis answers in time.
func TestFaultRedisSlow(t *testing.T) {
	up := &faultUpstream{}
	var proxy *stallProxy
	rs := startReplicasWith(t, 1, up, func(c *config.Config) {
		c.State.Redis.Address = proxy.ln.Addr().String()
		c.State.Redis.ReadTimeout = 300 * time.Millisecond
	}, func(rs *replicaSet) { proxy = newStallProxy(t, rs.redis.Addr) })
	url := rs.url(0, "tools")
	if got := callTool(t, url, "s1", 1, "echo", `,"arguments":{"x":1}`); !strings.Contains(got, "echo") {
		t.Fatalf("before the stall: %s", got)
	}
	proxy.stall()
	got := callTool(t, url, "s1", 2, "echo", `,"arguments":{"x":2}`)
	proxy.release()
	if !strings.Contains(got, "shared surrogate vault (state.redis) is unavailable") {
		t.Fatalf("call with a stalled Redis not refused: %s", got)
	}
	if calls := up.received(); len(calls) != 1 {
		t.Fatalf("upstream received %q while Redis was stalled", calls)
	}
	if got := callTool(t, url, "s1", 3, "echo", `,"arguments":{"x":3}`); !strings.Contains(got, "echo") {
		t.Fatalf("after the stall: %s", got)
	}
}

// startAuditFault runs one gateway (no Redis) with a small audit segment
// size in front of a faultUpstream, and returns its tools URL and audit dir.
func startAuditFault(t *testing.T) (string, string, *faultUpstream) {
	t.Helper()
	return startAuditFaultWith(t, "")
}

// startAuditFaultWith is startAuditFault with more keys under audit:.
func startAuditFaultWith(t *testing.T, extra string) (string, string, *faultUpstream) {
	t.Helper()
	up := &faultUpstream{}
	tools := newUpstream(t, up)
	auditDir := filepath.Join(t.TempDir(), "audit")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0}
servers:
  - {name: tools, url: %s/mcp, tools: {allow: ["*"]}}
audit: {dir: %s, segment_bytes: 4096, commit: {every: 1, interval: 1ms}%s}
`, tools.srv.URL, auditDir, extra)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return "http://" + gw.ProxyAddr() + "/mcp/tools", auditDir, up
}

// auditFault drives calls until the audit log refuses one (its next
// segment is unwritable), then checks every later call is refused too and
// nothing more reaches the upstream. It returns how many calls the
// upstream received and how many records reached the first segment.
func auditFault(t *testing.T, url, auditDir string, up *faultUpstream) (forwarded, recorded int) {
	t.Helper()
	refusedAt := -1
	for i := 1; i <= 400 && refusedAt < 0; i++ {
		got := callTool(t, url, "s1", i, "echo", fmt.Sprintf(`,"arguments":{"n":%d,"pad":%q}`, i, strings.Repeat("x", 200)))
		switch {
		case strings.Contains(got, "the audit log cannot accept records"):
			refusedAt = i
		case !strings.Contains(got, "echo"):
			t.Fatalf("call %d: unexpected answer %s", i, got)
		}
	}
	if refusedAt < 0 {
		t.Fatal("the audit log never failed: the segment did not rotate onto the broken file")
	}
	forwarded = len(up.received())
	for i := range 3 {
		got := callTool(t, url, "s1", 1000+i, "echo", `,"arguments":{"after":true}`)
		if !strings.Contains(got, "the gateway refuses calls it cannot record") {
			t.Fatalf("call after the audit failure not refused: %s", got)
		}
	}
	if n := len(up.received()); n != forwarded {
		t.Fatalf("upstream received %d calls after the audit log failed", n-forwarded)
	}
	seg, err := os.ReadFile(filepath.Join(auditDir, "seg-00000001.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recorded = strings.Count(string(seg), "\n")
	t.Logf("first refusal at call %d; upstream received %d calls; %d audit records durable", refusedAt, forwarded, recorded)
	return forwarded, recorded
}

// TestFaultAuditDiskFull: the audit log rotates onto a full disk
// (/dev/full: every write fails with ENOSPC). From then on every call is
// refused with a clear error and nothing reaches the upstream.
func TestFaultAuditDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("/dev/full not available")
	}
	url, dir, up := startAuditFault(t)
	if err := os.Symlink("/dev/full", filepath.Join(dir, "seg-00000002.jsonl")); err != nil {
		t.Fatal(err)
	}
	auditFault(t, url, dir, up)
}

// TestFaultAuditDiskFullDurable: with audit.durable a decision takes
// effect only once its record is on disk, so when the disk fills no call
// reaches the upstream without a durable record of its request decision.
func TestFaultAuditDiskFullDurable(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("/dev/full not available")
	}
	url, dir, up := startAuditFaultWith(t, ", durable: true")
	if err := os.Symlink("/dev/full", filepath.Join(dir, "seg-00000002.jsonl")); err != nil {
		t.Fatal(err)
	}
	forwarded, _ := auditFault(t, url, dir, up)
	seg, err := os.ReadFile(filepath.Join(dir, "seg-00000001.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	requests := 0
	for _, line := range strings.Split(string(seg), "\n") {
		if strings.Contains(line, `"plane":"request"`) && strings.Contains(line, `"tools/call"`) {
			requests++
		}
	}
	if requests < forwarded {
		t.Fatalf("the upstream received %d calls but only %d request decisions are durable", forwarded, requests)
	}
}

// TestFaultAuditNotWritable: the audit log's next segment cannot be
// created (read-only directory; as root, a path the kernel refuses).
func TestFaultAuditNotWritable(t *testing.T) {
	url, dir, up := startAuditFault(t)
	if os.Geteuid() == 0 {
		// root ignores directory permissions: point the next segment
		// at sysfs, where creating a file is refused.
		if err := os.Symlink("/sys/portcullis-audit-test.jsonl", filepath.Join(dir, "seg-00000002.jsonl")); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	auditFault(t, url, dir, up)
}
