package gateway_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/notify"
	"github.com/portcullis-mcp/portcullis/cmd/portcullis/app"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/gateway"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
)

type approvalEnv struct {
	gw       *gateway.Gateway
	files    *upstream
	filesDir string
	auditDir string
	admin    string
	base     string
}

type approvalOpts struct {
	redis string
	clock *fakeClock
	files *upstream // shared upstream (two instances); nil starts one
	dir   string
	extra string // more YAML under approvals:
	auth  string // approvals.auth (default insecure_dev)
}

const testStateKey = "0123456789abcdef0123456789abcdef-e2e"

// startApprovalEnv runs the quickstart policy (write_file needs approval)
// with header identities, the audit log and approvals in development mode.
func startApprovalEnv(t *testing.T, o approvalOpts) *approvalEnv {
	t.Helper()
	e := &approvalEnv{files: o.files, filesDir: o.dir, auditDir: filepath.Join(t.TempDir(), "audit")}
	if e.files == nil {
		e.filesDir = t.TempDir()
		if err := os.CopyFS(e.filesDir, os.DirFS("../examples/files/sandbox")); err != nil {
			t.Fatal(err)
		}
		fh, closeRoot, err := filesmcp.Handler(e.filesDir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = closeRoot() })
		e.files = newUpstream(t, fh)
	}
	redis := ""
	if o.redis != "" {
		redis = "\n  redis: " + o.redis
	}
	yaml := fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
limits: {message_timeout: 30s}
servers:
  - name: files
    url: %s/mcp
    tools: {allow: ["*"], deny: ["delete_*"]}
identity: {header: {name: x-portcullis-agent, trust: medium}}
policy: {file: ../examples/quickstart/policy.yaml}
audit: {dir: %s, commit: {interval: 5ms}}
approvals:
  timeout: 10m
  grant_ttl: 5m
  auth: %s
  state_keys: [{id: k1, value: %q}]%s%s
`, e.files.srv.URL, e.auditDir, cmp.Or(o.auth, "{insecure_dev: true}"), testStateKey, redis, o.extra)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var opts gateway.Options
	if o.clock != nil {
		opts.Approval = []approval.Option{approval.WithClock(o.clock.Now)}
	}
	e.gw, err = gateway.Start(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.gw.Close() })
	e.base = "http://" + e.gw.ProxyAddr()
	e.admin = "http://" + e.gw.AdminAddr()
	return e
}

type agentHeader struct {
	agent string
	base  http.RoundTripper
}

func (h agentHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("x-portcullis-agent", h.agent)
	return h.base.RoundTrip(r)
}

func (e *approvalEnv) connect(t *testing.T, agent string) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e-" + agent, Version: "v0"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: e.base + "/mcp/files",
		HTTPClient: &http.Client{Transport: agentHeader{agent, http.DefaultTransport}}, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatalf("connect as %s: %v", agent, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// writes counts the write_file calls that reached the upstream.
func (u *upstream) count(s string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, x := range u.seen {
		if x == s {
			n++
		}
	}
	return n
}

const sawWrite = "POST tools/call write_file"

// write calls write_file and returns the JSON-RPC error data (nil on success).
func write(t *testing.T, cs *sdk.ClientSession, args map[string]any) (code int64, msg string, data map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "write_file", Arguments: args})
	if err == nil {
		if res.IsError {
			t.Fatalf("write_file returned a tool error: %+v", res.Content)
		}
		return 0, "", nil
	}
	werr := rpcError(t, err)
	return werr.Code, werr.Message, errData(t, werr)
}

func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := app.Main(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestApprovalE2E(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	hooks := make(chan *http.Request, 16)
	hookBodies := make(chan []byte, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- r
		hookBodies <- b
	}))
	t.Cleanup(hook.Close)
	secret := "e2e-webhook-secret-0123456789"
	e := startApprovalEnv(t, approvalOpts{clock: clk, extra: fmt.Sprintf("\n  notify: {webhook: {url: %s, secret: {value: %s}}}", hook.URL, secret)})
	a := e.connect(t, "agent-a")
	b := e.connect(t, "agent-b")
	args := map[string]any{"path": "approved.txt", "content": "written after approval"}

	code, msg, d := write(t, a, args)
	if code != -32002 || d["status"] != "pending" || !strings.HasPrefix(fmt.Sprint(d["approval_id"]), "apr_") {
		t.Fatalf("want a pending approval, got %d %q %v", code, msg, d)
	}
	id := d["approval_id"].(string)
	if d["approval_url"] != e.admin+"/approvals/"+id || !strings.Contains(msg, e.admin+"/approvals/"+id) {
		t.Fatalf("the answer must carry the console URL: %q %v", msg, d)
	}
	if _, _, d2 := write(t, a, args); d2["approval_id"] != id {
		t.Fatalf("a retry minted a new id: %v", d2)
	}
	if e.files.count(sawWrite) != 0 {
		t.Fatal("the upstream saw a call awaiting approval")
	}
	// The signed webhook told approvers, with a link and no content.
	r, body := <-hooks, <-hookBodies
	if err := notify.Verify([]byte(secret), r.Header.Get(notify.SignatureHeader), body, time.Now(), time.Minute); err != nil {
		t.Fatalf("webhook signature: %v", err)
	}
	if gjson.GetBytes(body, "approval.id").Str != id || gjson.GetBytes(body, "approval.url").Str != e.admin+"/approvals/"+id || strings.Contains(string(body), "written after approval") {
		t.Fatalf("webhook body: %s", body)
	}

	if out, err := cli(t, "approvals", "approve", id, "--admin", e.admin, "--as", "agent-a"); err == nil || !strings.Contains(err.Error(), "may not approve") {
		t.Fatalf("the requester approved their own call: %v %s", err, out)
	}
	if out, err := cli(t, "approvals", "approve", id, "--admin", e.admin, "--as", "alice", "--comment", "fine"); err != nil {
		t.Fatalf("approve: %v %s", err, out)
	}

	t.Run("changed arguments are not covered", func(t *testing.T) {
		other := map[string]any{"path": "approved.txt", "content": "something else"}
		code, _, d := write(t, a, other)
		if code != -32002 || d["approval_id"] == id {
			t.Fatalf("got %d %v", code, d)
		}
	})
	t.Run("another agent is not covered", func(t *testing.T) {
		code, _, d := write(t, b, args)
		if code != -32002 || d["approval_id"] == id {
			t.Fatalf("got %d %v", code, d)
		}
	})
	t.Run("the approved call goes through once", func(t *testing.T) {
		if code, msg, _ := write(t, a, args); code != 0 {
			t.Fatalf("approved retry refused: %d %s", code, msg)
		}
		if n := e.files.count(sawWrite); n != 1 {
			t.Fatalf("upstream saw %d write_file calls, want 1", n)
		}
		got, err := os.ReadFile(filepath.Join(e.filesDir, "approved.txt"))
		if err != nil || string(got) != "written after approval" {
			t.Fatalf("file: %q %v", got, err)
		}
		code, _, d := write(t, a, args)
		if code != -32002 || d["approval_id"] == id {
			t.Fatalf("a second use was not refused: %d %v", code, d)
		}
		if n := e.files.count(sawWrite); n != 1 {
			t.Fatalf("upstream saw %d write_file calls after a second use, want 1", n)
		}
	})
	t.Run("rejection", func(t *testing.T) {
		args := map[string]any{"path": "rejected.txt", "content": "no"}
		_, _, d := write(t, a, args)
		rid := d["approval_id"].(string)
		if out, err := cli(t, "approvals", "reject", rid, "--admin", e.admin, "--as", "bob", "--comment", "not today"); err != nil {
			t.Fatalf("reject: %v %s", err, out)
		}
		code, msg, d := write(t, a, args)
		if code != -32001 || d["status"] != "rejected" || !strings.Contains(msg, "rejected by bob: not today") {
			t.Fatalf("got %d %q %v", code, msg, d)
		}
	})
	t.Run("timeout rejects by default", func(t *testing.T) {
		args := map[string]any{"path": "late.txt", "content": "late"}
		_, _, d := write(t, a, args)
		tid := d["approval_id"].(string)
		clk.Advance(11 * time.Minute)
		code, msg, d := write(t, a, args)
		if code != -32001 || d["status"] != "expired" || !strings.Contains(msg, "timed out") || !strings.Contains(msg, "default outcome: reject") {
			t.Fatalf("got %d %q %v", code, msg, d)
		}
		if out, err := cli(t, "approvals", "approve", tid, "--admin", e.admin, "--as", "alice"); err == nil {
			t.Fatalf("approved an expired request: %s", out)
		}
	})
	t.Run("a grant unused until after its expiry is refused", func(t *testing.T) {
		args := map[string]any{"path": "stale.txt", "content": "stale"}
		_, _, d := write(t, a, args)
		if out, err := cli(t, "approvals", "approve", d["approval_id"].(string), "--admin", e.admin, "--as", "alice"); err != nil {
			t.Fatalf("approve: %v %s", err, out)
		}
		clk.Advance(6 * time.Minute)
		code, msg, d := write(t, a, args)
		if code != -32001 || d["status"] != "expired" || !strings.Contains(msg, "not used before") {
			t.Fatalf("got %d %q %v", code, msg, d)
		}
		if n := e.files.count(sawWrite); n != 1 {
			t.Fatalf("upstream saw %d write_file calls, want 1", n)
		}
	})

	// Every transition is counted on /metrics by outcome.
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, r := range []string{"requested", "approved", "used", "rejected", "expired"} {
		if !regexp.MustCompile(`portcullis_approvals_total\{result="` + r + `"\} [1-9]`).Match(metrics) {
			t.Errorf("/metrics lacks a non-zero portcullis_approvals_total{result=%q}", r)
		}
	}

	// Every step is in the hash-chained audit log, which verifies.
	_ = e.gw.Close()
	if out, err := cli(t, "audit", "verify", e.auditDir); err != nil || !strings.Contains(out, "VALID") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	log := readAudit(t, e.auditDir)
	for _, want := range []string{"approval:requested", "approval:notified", "channel:webhook", "approval:approved", "approval:used", "approval:rejected", "approval:expired",
		"approver:alice (unauthenticated)", "approver:bob (unauthenticated)", `"decision_id":"` + id + `"`, `"approval:` + id + `"`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
	if strings.Contains(log, "written after approval") {
		t.Error("the audit log carries argument content")
	}
}

func readAudit(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) == 0 {
		files, _ = filepath.Glob(filepath.Join(dir, "*"))
	}
	var sb strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			sb.Write(b)
		}
	}
	return sb.String()
}

// post sends one raw JSON-RPC message (2026-07-28 clients have no session).
func post2026(t *testing.T, url string, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "write_file")
	req.Header.Set("x-portcullis-agent", "agent-new")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if i := bytes.Index(b, []byte("data: ")); i >= 0 { // SSE framing
		b = bytes.TrimSpace(b[i+6:])
	}
	return b
}

// TestApprovalTwoInstancesRedis: a call held on one instance is approved
// through the other; the grant is used once across both.
func TestApprovalTwoInstancesRedis(t *testing.T) {
	addr := redistest.Start(t, nil).Addr
	ea := startApprovalEnv(t, approvalOpts{redis: addr})
	eb := startApprovalEnv(t, approvalOpts{redis: addr, files: ea.files, dir: ea.filesDir})
	onA, onB := ea.connect(t, "agent-a"), eb.connect(t, "agent-a")
	args := map[string]any{"path": "shared.txt", "content": "two instances"}
	_, _, d := write(t, onA, args)
	id, _ := d["approval_id"].(string)
	if _, _, d2 := write(t, onB, args); id == "" || d2["approval_id"] != id {
		t.Fatalf("instances disagree on the pending request: %v %v", d, d2)
	}
	if out, err := cli(t, "approvals", "list", "--admin", eb.admin, "--as", "carol", "--status", "pending"); err != nil || !strings.Contains(out, id) {
		t.Fatalf("list on B: %v %s", err, out)
	}
	if out, err := cli(t, "approvals", "approve", id, "--admin", eb.admin, "--as", "carol"); err != nil {
		t.Fatalf("approve on B: %v %s", err, out)
	}
	if code, msg, _ := write(t, onA, args); code != 0 {
		t.Fatalf("approved retry on A refused: %d %s", code, msg)
	}
	code, _, d := write(t, onB, args)
	if code != -32002 || d["approval_id"] == id {
		t.Fatalf("second use on B not refused: %d %v", code, d)
	}
	if n := ea.files.count(sawWrite); n != 1 {
		t.Fatalf("upstream saw %d write_file calls, want 1", n)
	}
}

// statelessUpstream answers 2026-07-28 tools/call requests and records their
// bodies.
func statelessUpstream(t *testing.T) (*upstream, *[]string) {
	var mu sync.Mutex
	var bodies []string
	u := newUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"resultType":"complete","content":[{"type":"text","text":"written"}]}}`, gjson.GetBytes(b, "id").Raw)
	}))
	return u, &bodies
}

func call2026(id int, args string, caps string, extra string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"write_file","arguments":%s%s,`+
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":%s}}}`, id, args, extra, caps)
}

// TestApproval2026Stateless: InputRequiredResult with a sealed requestState
// minted on one replica and validated on another (shared Redis).
func TestApproval2026Stateless(t *testing.T) {
	addr := redistest.Start(t, nil).Addr
	up, bodies := statelessUpstream(t)
	self := "\n  rules: [{name: self-service, tools: [write_file], allow_self: true, separation_of_duties_score: 90}]"
	ea := startApprovalEnv(t, approvalOpts{redis: addr, files: up, extra: self})
	eb := startApprovalEnv(t, approvalOpts{redis: addr, files: up, extra: self})
	urlCaps := `{"elicitation":{"url":{},"form":{}}}`
	args := `{"path":"state.txt","content":"stateless"}`

	t.Run("url mode, approved on the other replica", func(t *testing.T) {
		r := post2026(t, ea.base+"/mcp/files", call2026(1, args, urlCaps, ""))
		res := gjson.GetBytes(r, "result")
		in := res.Get("inputRequests.portcullis_approval")
		state := res.Get("requestState").Str
		id := in.Get("params.elicitationId").Str
		if res.Get("resultType").Str != "input_required" || in.Get("method").Str != "elicitation/create" || in.Get("params.mode").Str != "url" ||
			in.Get("params.url").Str != ea.admin+"/approvals/"+id || !approval.IsState(state) {
			t.Fatalf("want an InputRequiredResult with URL elicitation, got %s", r)
		}
		if out, err := cli(t, "approvals", "approve", id, "--admin", eb.admin, "--as", "dana"); err != nil {
			t.Fatalf("approve: %v %s", err, out)
		}
		tampered := post2026(t, eb.base+"/mcp/files", call2026(2, `{"path":"state.txt","content":"tampered"}`, urlCaps, `,"requestState":"`+state+`"`))
		if !strings.Contains(gjson.GetBytes(tampered, "error.message").Str, "different call") {
			t.Fatalf("a retry with other arguments was not refused: %s", tampered)
		}
		ok := post2026(t, eb.base+"/mcp/files", call2026(3, args, urlCaps, `,"requestState":"`+state+`","inputResponses":{"portcullis_approval":{"result":{"action":"accept"}}}`))
		if gjson.GetBytes(ok, "result.content.0.text").Str != "written" {
			t.Fatalf("approved retry on the other replica: %s", ok)
		}
		if up.count(sawWrite) != 1 || strings.Contains((*bodies)[0], "requestState") || strings.Contains((*bodies)[0], "portcullis_approval") {
			t.Fatalf("upstream calls %d, body %v", up.count(sawWrite), *bodies)
		}
		again := post2026(t, ea.base+"/mcp/files", call2026(4, args, urlCaps, `,"requestState":"`+state+`"`))
		if gjson.GetBytes(again, "result.resultType").Str != "input_required" || gjson.GetBytes(again, "result.inputRequests.portcullis_approval.params.elicitationId").Str == id {
			t.Fatalf("a second use was not refused: %s", again)
		}
	})
	t.Run("form mode self-approval", func(t *testing.T) {
		formArgs := `{"path":"form.txt","content":"self"}`
		r := post2026(t, ea.base+"/mcp/files", call2026(5, formArgs, `{"elicitation":{}}`, ""))
		in := gjson.GetBytes(r, "result.inputRequests.portcullis_approval.params")
		if in.Get("mode").Str != "form" || in.Get("requestedSchema.properties.approve.type").Str != "boolean" {
			t.Fatalf("want a form elicitation, got %s", r)
		}
		state := gjson.GetBytes(r, "result.requestState").Str
		declined := post2026(t, eb.base+"/mcp/files", call2026(6, formArgs, `{"elicitation":{}}`, `,"requestState":"`+state+`","inputResponses":{"portcullis_approval":{"result":{"action":"decline"}}}`))
		if gjson.GetBytes(declined, "result.resultType").Str != "input_required" {
			t.Fatalf("a declined form went through: %s", declined)
		}
		ok := post2026(t, eb.base+"/mcp/files", call2026(7, formArgs, `{"elicitation":{}}`, `,"requestState":"`+state+`","inputResponses":{"portcullis_approval":{"result":{"action":"accept","content":{"approve":true}}}}`))
		if gjson.GetBytes(ok, "result.content.0.text").Str != "written" {
			t.Fatalf("self-approved retry: %s", ok)
		}
	})
	t.Run("no elicitation capability: error with the requestState", func(t *testing.T) {
		r := post2026(t, ea.base+"/mcp/files", call2026(8, `{"path":"plain.txt","content":"x"}`, `{}`, ""))
		if gjson.GetBytes(r, "error.code").Int() != -32002 || !approval.IsState(gjson.GetBytes(r, "error.data.request_state").Str) {
			t.Fatalf("got %s", r)
		}
	})
}

// TestApprovalJWTApprovers: with approvals.auth.jwt only a verified bearer
// token can decide; its sub is the approver and its groups select rules.
func TestApprovalJWTApprovers(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":"`+b64(pub)+`"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	token := func(sub string, groups ...string) string {
		h, _ := json.Marshal(map[string]any{"alg": "EdDSA", "kid": "k1", "typ": "JWT"})
		c, _ := json.Marshal(map[string]any{"iss": "https://idp.test", "aud": "portcullis-approvers", "sub": sub, "groups": groups,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		signed := b64(h) + "." + b64(c)
		return signed + "." + b64(ed25519.Sign(priv, []byte(signed)))
	}
	e := startApprovalEnv(t, approvalOpts{
		auth:  fmt.Sprintf("{jwt: {issuer: https://idp.test, audience: [portcullis-approvers], jwks_file: %s}}", jwks),
		extra: "\n  rules: [{name: sre-only, tools: [write_file], groups: [sre]}]",
	})
	a := e.connect(t, "agent-a")
	args := map[string]any{"path": "jwt.txt", "content": "jwt"}
	_, _, d := write(t, a, args)
	id, _ := d["approval_id"].(string)
	if out, err := cli(t, "approvals", "approve", id, "--admin", e.admin, "--as", "alice"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("an unauthenticated name was accepted: %v %s", err, out)
	}
	if out, err := cli(t, "approvals", "approve", id, "--admin", e.admin, "--token", token("dev", "eng")); err == nil || !strings.Contains(err.Error(), "not an approver") {
		t.Fatalf("an approver outside the rule's groups decided: %v %s", err, out)
	}
	forged := token("sre-1", "sre")
	forged = forged[:len(forged)-4] + "AAAA"
	if out, err := cli(t, "approvals", "approve", id, "--admin", e.admin, "--token", forged); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a forged token was accepted: %v %s", err, out)
	}
	if out, err := cli(t, "approvals", "approve", id, "--admin", e.admin, "--token", token("sre-1", "sre")); err != nil {
		t.Fatalf("approve with a valid token: %v %s", err, out)
	}
	if code, msg, _ := write(t, a, args); code != 0 {
		t.Fatalf("approved retry refused: %d %s", code, msg)
	}
	page, err := http.Get(e.admin + "/approvals")
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if strings.Contains(string(pb), "INSECURE") || !strings.Contains(string(pb), `id="token"`) {
		t.Fatal("the JWT-mode console must ask for a token and show no insecure banner")
	}
}

// TestApprovalHold: with approvals.hold a quick approval completes the
// original call, without a retry.
func TestApprovalHold(t *testing.T) {
	e := startApprovalEnv(t, approvalOpts{extra: "\n  hold: 20s"})
	a := e.connect(t, "agent-a")
	args := map[string]any{"path": "held.txt", "content": "held"}
	type outcome struct {
		code int64
		msg  string
	}
	done := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := a.CallTool(ctx, &sdk.CallToolParams{Name: "write_file", Arguments: args})
		switch {
		case err != nil:
			done <- outcome{-1, err.Error()}
		case res.IsError:
			done <- outcome{-2, fmt.Sprint(res.Content)}
		default:
			done <- outcome{}
		}
	}()
	// Wait until the held call's request is listed, then approve it.
	var id string
	for deadline := time.Now().Add(15 * time.Second); id == "" && time.Now().Before(deadline); {
		out, err := cli(t, "approvals", "list", "--admin", e.admin, "--as", "frank", "--status", "pending", "--json")
		if err != nil {
			t.Fatalf("list: %v %s", err, out)
		}
		if i := strings.Index(out, `"id": "apr_`); i >= 0 {
			id = out[i+7 : i+7+30]
		}
	}
	if id == "" {
		t.Fatal("the held call never showed up as pending")
	}
	if out, err := cli(t, "approvals", "approve", id, "--admin", e.admin, "--as", "frank"); err != nil {
		t.Fatalf("approve: %v %s", err, out)
	}
	if o := <-done; o.code != 0 {
		t.Fatalf("the held call did not complete after approval: %d %s", o.code, o.msg)
	}
	if n := e.files.count(sawWrite); n != 1 {
		t.Fatalf("upstream saw %d write_file calls, want 1", n)
	}
}
