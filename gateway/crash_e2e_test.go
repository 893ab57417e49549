package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/cmd/portcullis/app"
)

// TestHelperServe is not a test: it is `portcullis serve` run in a child
// process by TestFaultKill9DuringHeavyWrites (the test binary re-executes
// itself with PORTCULLIS_HELPER_SERVE set to a config path).
func TestHelperServe(t *testing.T) {
	cfg := os.Getenv("PORTCULLIS_HELPER_SERVE")
	if cfg == "" {
		t.Skip("helper process only")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.Main(ctx, []string{"serve", "--config", cfg}, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

type child struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

// startServe runs `portcullis serve` in a child process on a free port and
// waits until its proxy accepts connections.
func startServe(t *testing.T, dir, upstream, auditDir string) *child {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cfgPath := filepath.Join(dir, "portcullis-"+strconv.Itoa(int(time.Now().UnixNano()))+".yaml")
	cfg := fmt.Sprintf(`
listen: {proxy: %s, extproc: 127.0.0.1:0}
servers:
  - {name: tools, url: %s/mcp, tools: {allow: ["*"]}}
audit: {dir: %s, commit: {every: 4096, interval: 10s}}
`, addr, upstream, auditDir)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(cfgPath + ".log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logf.Close() })
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), "PORTCULLIS_HELPER_SERVE="+cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, url: "http://" + addr + "/mcp/tools", exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-c.exited })
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.exited:
			log, _ := os.ReadFile(cfgPath + ".log")
			t.Fatalf("serve exited early:\n%s", log)
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = conn.Close()
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start listening")
		}
		time.Sleep(20 * time.Millisecond) // readiness polling only
	}
}

func verifyAudit(t *testing.T, dir string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := app.Main(context.Background(), []string{"audit", "verify", dir}, &out, &errb)
	return out.String() + errb.String(), err
}

// TestFaultKill9DuringHeavyWrites: `portcullis serve` is killed with
// SIGKILL while 8 clients write audit records as fast as they can. Then
// `portcullis audit verify` reports the torn last write at the exact byte
// offset (or none, when the kill fell between writes), and a restarted
// gateway cuts the tail, records the recovery and continues the chain:
// verify is VALID over both runs with consecutive sequence numbers.
func TestFaultKill9DuringHeavyWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	auditDir := filepath.Join(dir, "audit")
	up := newUpstream(t, &faultUpstream{})
	c := startServe(t, dir, up.srv.URL, auditDir)

	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"w":%d,"pad":%q}}}`, i, w, strings.Repeat("p", 700))
				if status, _, err := tryPost(c.url, body); err != nil || status != 200 {
					return // the server is gone
				}
				sent.Add(1)
			}
		}()
	}
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	// Kill once the upstream has seen plenty of calls (an event, not a
	// sleep; the short pause only paces the polling).
	for up.hits.Load() < 600 {
		select {
		case <-c.exited:
			t.Fatal("serve exited under load")
		case <-workersDone:
			t.Fatalf("every writer stopped after %d calls (a call failed) before the kill", sent.Load())
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	close(stop)
	<-workersDone

	segs, _ := filepath.Glob(filepath.Join(auditDir, "seg-*.jsonl"))
	if len(segs) == 0 {
		t.Fatal("no audit segment")
	}
	last := segs[len(segs)-1]
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	end := bytes.LastIndexByte(data, '\n') + 1
	complete := strings.Count(string(data[:end]), "\n")
	out, err := verifyAudit(t, auditDir)
	if err != nil {
		t.Fatalf("verify after kill -9 failed: %v\n%s", err, out)
	}
	if end < len(data) {
		want := fmt.Sprintf("Torn last write: %d bytes at offset %d of %s", len(data)-end, end, filepath.Base(last))
		if !strings.Contains(out, want) {
			t.Fatalf("verify does not name the torn tail %q:\n%s", want, out)
		}
	} else {
		t.Logf("the kill fell between two writes: no torn tail this run")
		if strings.Contains(out, "Torn last write") {
			t.Fatalf("verify reports a torn tail that is not there:\n%s", out)
		}
	}
	m := regexp.MustCompile(`Records found: seq (\d+) to (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no record range in:\n%s", out)
	}
	lastSeq, _ := strconv.Atoi(m[2])
	t.Logf("killed after %d acknowledged calls; %d complete records durable in the newest segment, last seq %d, %d torn bytes", sent.Load(), complete, lastSeq, len(data)-end)

	// Restart on the same directory; a few calls; graceful stop.
	c2 := startServe(t, dir, up.srv.URL, auditDir)
	for i := range 5 {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"after":%d}}}`, i, i)
		if status, b, err := tryPost(c2.url, body); err != nil || status != 200 || !strings.Contains(b, "echo") {
			t.Fatalf("call %d after restart: %d %v %s", i, status, err, b)
		}
	}
	if err := c2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-c2.exited
	out, err = verifyAudit(t, auditDir)
	if err != nil || !strings.Contains(out, "VALID") || strings.Contains(out, "INVALID") {
		t.Fatalf("verify after restart: %v\n%s", err, out)
	}
	if strings.Contains(out, "Torn last write") {
		t.Fatalf("torn tail still there after restart:\n%s", out)
	}
	if end < len(data) && !strings.Contains(out, fmt.Sprintf("torn last write: cut %d bytes at offset %d of %s", len(data)-end, end, filepath.Base(last))) {
		t.Fatalf("the restart did not record the recovery:\n%s", out)
	}
	m2 := regexp.MustCompile(`Records found: seq (\d+) to (\d+)`).FindStringSubmatch(out)
	if m2 == nil {
		t.Fatalf("no record range in:\n%s", out)
	}
	if first, _ := strconv.Atoi(m2[1]); first != 1 {
		t.Fatalf("chain does not start at 1: %s", m2[0])
	}
	if final, _ := strconv.Atoi(m2[2]); final < lastSeq+5 {
		t.Fatalf("chain did not continue: before the kill up to %d, after the restart up to %d (5 calls made)", lastSeq, final)
	}
}

func tryPost(url, body string) (int, string, error) {
	req, err := newPost(url, body)
	if err != nil {
		return 0, "", err
	}
	resp, err := crashClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), nil
}

var crashClient = &http.Client{Timeout: 30 * time.Second}

func newPost(url, body string) (*http.Request, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	return req, nil
}
