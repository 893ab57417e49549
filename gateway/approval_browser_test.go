package gateway_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// chromium starts Debian's headless Chromium with a fresh profile and
// returns a DevTools connection to its first page. It skips when Chromium
// is absent unless PORTCULLIS_REQUIRE_CHROMIUM=1 (set by .ci/run).
func chromium(t *testing.T) *cdp {
	t.Helper()
	bin := os.Getenv("PORTCULLIS_CHROMIUM")
	if bin == "" {
		for _, c := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
			if p, err := exec.LookPath(c); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		if os.Getenv("PORTCULLIS_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("chromium not found and PORTCULLIS_REQUIRE_CHROMIUM=1 (apt-get install chromium)")
		}
		t.Skip("chromium not installed (apt-get install chromium); skipping the console browser test")
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
		"--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
		"--window-size=1280,1000", "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	// Chromium prints its DevTools endpoint on stderr.
	found := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`DevTools listening on ws://([^/]+)/`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_ = cmd.Wait()
	}()
	var hostport string
	select {
	case hostport = <-found:
	case <-exited:
		t.Fatal("chromium exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not start within 60s")
	}
	resp, err := http.Get("http://" + hostport + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	var targets []struct{ Type, WebSocketDebuggerURL string }
	err = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			ws, err := websocket.Dial(tg.WebSocketDebuggerURL, "", "http://127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ws.Close() })
			return &cdp{t: t, ws: ws}
		}
	}
	t.Fatal("chromium has no page target")
	return nil
}

// cdp is a minimal Chrome DevTools Protocol client: one call at a time,
// events skipped.
type cdp struct {
	t  *testing.T
	ws *websocket.Conn
	mu sync.Mutex
	n  int
}

func (c *cdp) call(method string, params any) json.RawMessage {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if err := websocket.JSON.Send(c.ws, map[string]any{"id": c.n, "method": method, "params": params}); err != nil {
		c.t.Fatalf("cdp %s: %v", method, err)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		var m struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct{ Message string }
		}
		if err := websocket.JSON.Receive(c.ws, &m); err != nil {
			c.t.Fatalf("cdp %s: %v", method, err)
		}
		if m.ID != c.n {
			continue
		}
		if m.Error != nil {
			c.t.Fatalf("cdp %s: %s", method, m.Error.Message)
		}
		return m.Result
	}
}

// eval runs JavaScript in the page and returns its (awaited) value.
func (c *cdp) eval(js string) json.RawMessage {
	c.t.Helper()
	var r struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	if err := json.Unmarshal(c.call("Runtime.evaluate", map[string]any{"expression": js, "awaitPromise": true, "returnByValue": true}), &r); err != nil {
		c.t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		c.t.Fatalf("page script failed: %s %s", r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	return r.Result.Value
}

// waitFor resolves when the page-side condition holds; the page polls, the
// test only awaits (bounded so a broken page fails instead of hanging).
func (c *cdp) waitFor(cond string) {
	c.t.Helper()
	js := fmt.Sprintf(`new Promise((resolve, reject) => { const end = Date.now() + 60000;
		const f = () => { try { if (%s) return resolve(true); } catch (e) {} if (Date.now() > end) return reject(new Error("timeout waiting for: " + %q)); setTimeout(f, 50); }; f(); })`, cond, cond)
	c.eval(js)
}

func (c *cdp) screenshot(name string) string {
	c.t.Helper()
	var r struct{ Data string }
	if err := json.Unmarshal(c.call("Page.captureScreenshot", map[string]any{"format": "png"}), &r); err != nil {
		c.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 1000 {
		c.t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	dir := os.Getenv("PORTCULLIS_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot kept at %s", p)
	return p
}

// TestApprovalConsoleBrowser: an approver approves a pending call in the
// operator console, driven in real headless Chromium; the retried call then
// reaches the upstream exactly once.
func TestApprovalConsoleBrowser(t *testing.T) {
	e := startApprovalEnv(t, approvalOpts{})
	b := chromium(t)
	agent := e.connect(t, "agent-a")
	args := map[string]any{"path": "browser.txt", "content": "approved in the console; copy to erin.lindqvist@example.org"}
	code, _, d := write(t, agent, args)
	id, _ := d["approval_id"].(string)
	if code != -32002 || id == "" {
		t.Fatalf("want a pending approval, got %d %v", code, d)
	}
	url, _ := d["approval_url"].(string)
	b.call("Page.enable", nil)
	b.call("Page.navigate", map[string]any{"url": url})
	b.waitFor(`document.readyState === "complete" && document.getElementById("insecure-banner")`)
	// Sign in as the approver the way a person does: type a name, press Use.
	b.eval(`document.getElementById("approver").value = "erin"; document.getElementById("save-identity").click(); true`)
	b.waitFor(fmt.Sprintf(`document.getElementById("approve-%s") && !document.getElementById("approve-%s").disabled`, id, id))
	var card struct{ Args, Risk, Text, Policy, Audit string }
	if err := json.Unmarshal(b.eval(fmt.Sprintf(`({args: document.getElementById("args-%[1]s").textContent, risk: document.getElementById("risk-%[1]s").textContent,
		text: document.getElementById("card-%[1]s").textContent, policy: document.getElementById("policy-version").textContent,
		audit: document.getElementById("audit-status").textContent})`, id)), &card); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(card.Args, "browser.txt") || strings.Contains(card.Args, "erin.lindqvist@example.org") {
		t.Errorf("arguments view is not the redacted one: %s", card.Args)
	}
	if !strings.HasPrefix(card.Risk, "risk ") || !strings.Contains(card.Text, "write_file on files") || !strings.Contains(card.Text, "agent agent-a") {
		t.Errorf("card: %+v", card)
	}
	b.waitFor(`document.getElementById("policy-version").textContent.startsWith("2026-11-24.1+sha256:") && document.getElementById("audit-status").textContent.startsWith("valid")`)
	b.screenshot("approval-console-pending.png")
	b.eval(fmt.Sprintf(`document.getElementById("comment-%[1]s").value = "checked in the browser"; document.getElementById("approve-%[1]s").click(); true`, id))
	b.waitFor(fmt.Sprintf(`document.getElementById("row-%s") && document.getElementById("row-%s").textContent.includes("approved")`, id, id))
	b.screenshot("approval-console-approved.png")

	if code, msg, _ := write(t, agent, args); code != 0 {
		t.Fatalf("approved retry refused: %d %s", code, msg)
	}
	if n := e.files.count(sawWrite); n != 1 {
		t.Fatalf("upstream saw %d write_file calls, want 1", n)
	}
	if out, err := cli(t, "approvals", "show", id, "--admin", e.admin, "--as", "erin"); err != nil || !strings.Contains(out, "USED") || !strings.Contains(out, "erin approved") {
		t.Fatalf("show: %v %s", err, out)
	}
}
