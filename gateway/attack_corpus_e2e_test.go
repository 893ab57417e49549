package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-mcp/portcullis/gateway"
)

// The attack corpus of issue 11 (gateway/testdata/attacks): every bypass
// found by attacking the gateway, as data. Each entry is run through the
// embedded data plane and the processor in front of a scripted, recording
// upstream, and three things are asserted: what the upstream received, what
// the client received, and what the audit log says.

// corpusEntry is one line of testdata/attacks/corpus.jsonl.
type corpusEntry struct {
	Item int    `json:"item"` // issue 11 item number
	Name string `json:"name"`
	// Policy is appended to openPolicy (rules); "" runs without a policy,
	// on the built-in rules.
	Policy string `json:"policy"`
	// Config is extra gateway configuration (YAML lines).
	Config string        `json:"config"`
	Steps  []corpusStep  `json:"steps"`
	Audit  []corpusAudit `json:"audit"`
	// LocalReply is the reason (response code details) of a refusal the
	// data plane made itself, before the processor saw the request: no
	// audit record exists, so its counter must have moved.
	LocalReply string `json:"local_reply"`
	// Gap marks an attack that still gets through, naming where it is
	// tracked. The entry runs like any other: while an expectation fails
	// it is skipped with the reason; once all hold the test fails, so
	// the marker is removed and the entry guards the fix.
	Gap string `json:"gap"`
}

type corpusStep struct {
	Request struct {
		Method  string            `json:"method"` // default POST
		Path    string            `json:"path"`   // default /mcp/up; sent verbatim
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"request"`
	// Upstream scripts the answer to this step's request.
	Upstream struct {
		Status  int               `json:"status"` // default 200
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"` // {{id}}: the request's id; {{pad N}}: N times "lorem ipsum "
		SSE     []string          `json:"sse"`  // data of SSE events (sets text/event-stream)
		Gzip    bool              `json:"gzip"` // gzip Body (or the SSE stream)
	} `json:"upstream"`
	Expect struct {
		Status int `json:"status"` // 0: not checked
		// Code is the JSON-RPC error code of the reply (0: not checked).
		Code       int      `json:"code"`
		ClientHas  []string `json:"client_has"`
		ClientLack []string `json:"client_lacks"`
		// Upstream: "none" (this request never reached it) or
		// "received" (it did).
		Upstream     string            `json:"upstream"`
		UpstreamHas  []string          `json:"upstream_has"`
		UpstreamLack []string          `json:"upstream_lacks"`
		HeaderLack   map[string]string `json:"upstream_header_lacks"`
		// Capture names regular expressions matched against the client's
		// reply; later steps use {{name}} in their request.
		Capture map[string]string `json:"capture"`
	} `json:"expect"`
}

// corpusAudit is a decision record the entry must leave in the audit log.
type corpusAudit struct {
	Op       string `json:"op"`
	Plane    string `json:"plane"`
	Decision string `json:"decision"`
	Rule     string `json:"rule"` // substring of the rule ids; "" = any
}

func loadJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "//") {
			continue
		}
		var v T
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s:%d: %v", path, ln, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// scriptedUpstream answers each request with the current step's script and
// records what it received (target, headers, body).
type scriptedUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	step *corpusStep
	got  []dpRecorded
}

func newScriptedUpstream(t *testing.T) *scriptedUpstream {
	u := &scriptedUpstream{}
	u.srv = httptest.NewServer(u)
	t.Cleanup(u.srv.Close)
	return u
}

func (u *scriptedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.got = append(u.got, dpRecorded{target: r.RequestURI, header: r.Header.Clone(), body: string(b)})
	s := u.step
	u.mu.Unlock()
	if s == nil {
		w.WriteHeader(http.StatusTeapot)
		return
	}
	sc := s.Upstream
	id := idOf(b)
	if id == "" {
		id = "null"
	}
	body := padMacro.ReplaceAllStringFunc(strings.ReplaceAll(sc.Body, "{{id}}", id), func(m string) string {
		n, _ := strconv.Atoi(padMacro.FindStringSubmatch(m)[1])
		return strings.Repeat("lorem ipsum ", n)
	})
	ct := "application/json"
	if len(sc.SSE) > 0 {
		ct = "text/event-stream"
		var sb strings.Builder
		for _, ev := range sc.SSE {
			sb.WriteString("event: message\ndata: " + strings.ReplaceAll(ev, "{{id}}", id) + "\n\n")
		}
		body = sb.String()
	}
	if body == "" && sc.Status == 0 && len(sc.Headers) == 0 {
		w.WriteHeader(http.StatusAccepted) // notifications and replies
		return
	}
	w.Header().Set("Content-Type", ct)
	for k, v := range sc.Headers {
		w.Header().Set(k, v)
	}
	out := []byte(body)
	if sc.Gzip {
		out = gz(body)
	}
	w.WriteHeader(cmpInt(sc.Status, http.StatusOK))
	_, _ = w.Write(out)
}

// padMacro: {{pad N}} in an upstream body is N times "lorem ipsum ".
var padMacro = regexp.MustCompile(`\{\{pad (\d+)\}\}`)

func (u *scriptedUpstream) set(s *corpusStep) {
	u.mu.Lock()
	u.step = s
	u.mu.Unlock()
}

func (u *scriptedUpstream) received() []dpRecorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.got)
}

func cmpInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func TestAttackCorpus(t *testing.T) {
	entries := loadJSONL[corpusEntry](t, "testdata/attacks/corpus.jsonl")
	covered := map[int]bool{}
	for _, e := range entries {
		covered[e.Item] = true
	}
	// Items 21-23 (audit verification, control ports, memory) are not
	// messages on the data plane; their tests are audit/, gateway's
	// control and inflight tests. Every other item has a corpus entry.
	for item := 1; item <= 24; item++ {
		if !covered[item] && (item < 21 || item > 23) {
			t.Errorf("issue 11 item %d has no corpus entry", item)
		}
	}
	for _, e := range entries {
		t.Run(fmt.Sprintf("%02d_%s", e.Item, testName.ReplaceAllString(e.Name, "_")), func(t *testing.T) {
			err := runCorpusEntry(t, e)
			switch {
			case e.Gap == "" && err != nil:
				t.Fatal(err)
			case e.Gap != "" && err == nil:
				t.Fatalf("known gap %q is closed: every expectation holds; remove its gap marker", e.Gap)
			case e.Gap != "":
				t.Skipf("known gap (%s): %v", e.Gap, err)
			}
		})
	}
}

var testName = regexp.MustCompile(`[^A-Za-z0-9]+`)

// runCorpusEntry runs one entry and returns the first expectation that
// does not hold.
func runCorpusEntry(t *testing.T, e corpusEntry) error {
	up := newScriptedUpstream(t)
	pol := ""
	if e.Policy != "" {
		pol = openPolicy + e.Policy
	}
	env := startBypassEnv(t, &recorder{srv: up.srv}, pol, e.Config)
	addr := strings.TrimPrefix(env.base, "http://")
	vars := map[string]string{}
	for i := range e.Steps {
		s := &e.Steps[i]
		up.set(s)
		before := len(up.received())
		raw := rawRequest(addr, s, vars)
		resp, body, _, _ := rawExchange(t, addr, raw)
		x := s.Expect
		where := fmt.Sprintf("step %d", i+1)
		if x.Status != 0 && resp.StatusCode != x.Status {
			return fmt.Errorf("%s: client got status %d, want %d: %.600s", where, resp.StatusCode, x.Status, body)
		}
		if x.Code != 0 {
			var m struct {
				Error *struct{ Code int } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &m); err != nil || m.Error == nil || m.Error.Code != x.Code {
				return fmt.Errorf("%s: client got %.600s, want JSON-RPC error %d", where, body, x.Code)
			}
		}
		for _, want := range x.ClientHas {
			if !strings.Contains(body, want) {
				return fmt.Errorf("%s: client got %.600s, want %q in it", where, body, want)
			}
		}
		for _, leak := range x.ClientLack {
			if strings.Contains(body, leak) {
				return fmt.Errorf("%s: client received %q: %.600s", where, leak, body)
			}
		}
		for name, re := range x.Capture {
			v := regexp.MustCompile(re).FindString(body)
			if v == "" {
				return fmt.Errorf("%s: nothing to capture as %s (%s) in %.600s", where, name, re, body)
			}
			vars[name] = v
		}
		got := up.received()[before:]
		switch x.Upstream {
		case "none":
			if len(got) != 0 {
				return fmt.Errorf("%s: the upstream received %d request(s): %.600s", where, len(got), got[0].body)
			}
		case "received":
			if len(got) == 0 {
				return fmt.Errorf("%s: the upstream received nothing", where)
			}
		case "":
		default:
			return fmt.Errorf("%s: bad expect.upstream %q", where, x.Upstream)
		}
		var all strings.Builder
		for _, r := range got {
			all.WriteString(r.target + "\n" + r.body + "\n")
		}
		for _, want := range x.UpstreamHas {
			if !strings.Contains(all.String(), expand(want, vars)) {
				return fmt.Errorf("%s: the upstream received %.600s, want %q in it", where, all.String(), want)
			}
		}
		for _, leak := range x.UpstreamLack {
			if strings.Contains(all.String(), leak) {
				return fmt.Errorf("%s: the upstream received %q: %.600s", where, leak, all.String())
			}
		}
		for k, leak := range x.HeaderLack {
			for _, r := range got {
				for _, v := range r.header.Values(k) {
					if strings.Contains(v, leak) {
						return fmt.Errorf("%s: the upstream received header %s: %s", where, k, v)
					}
				}
			}
		}
	}
	if e.LocalReply != "" {
		if n := localReplies(t, env, e.LocalReply); n < 1 {
			return fmt.Errorf("the data plane's local reply %q was not counted (%s)", e.LocalReply, gateway.MetricLocalReplies)
		}
	}
	lines := env.audit(t)
	if os.Getenv("CORPUS_SHOW_AUDIT") != "" {
		t.Logf("audit: %+v", lines)
	}
	for _, a := range e.Audit {
		if !hasAudit(lines, a.Op, a.Plane, a.Decision, a.Rule) {
			return fmt.Errorf("no %s/%s/%s audit record with rule %q in %+v", a.Op, a.Plane, a.Decision, a.Rule, lines)
		}
	}
	return nil
}

// localReplies is the data plane's local-reply counter for details.
func localReplies(t *testing.T, env *bypassEnv, details string) float64 {
	t.Helper()
	mfs, err := env.gw.Telemetry().Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != gateway.MetricLocalReplies {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "details" && l.GetValue() == details {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

// rawRequest renders a step's request as HTTP/1.1 bytes, so paths, bodies
// on GET and byte-exact bodies reach the gateway as written.
func rawRequest(addr string, s *corpusStep, vars map[string]string) string {
	method := cmpStr(s.Request.Method, "POST")
	path := cmpStr(s.Request.Path, "/mcp/up")
	body := expand(s.Request.Body, vars)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, addr)
	hdr := map[string]string{"Accept": "application/json, text/event-stream"}
	if body != "" {
		hdr["Content-Type"] = "application/json"
		hdr["Content-Length"] = strconv.Itoa(len(body))
	}
	for k, v := range s.Request.Headers {
		hdr[k] = expand(v, vars)
	}
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\r\n", k, hdr[k])
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(body)
	return b.String()
}

func cmpStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// argumentsEntry is one line of testdata/attacks/request_arguments.jsonl:
// realistic tool arguments, harmless or carrying a prompt injection.
type argumentsEntry struct {
	Kind      string          `json:"kind"`
	Injection bool            `json:"injection"`
	Arguments json.RawMessage `json:"arguments"`
	// Gap marks a harmless entry the detector is known to refuse (a false
	// positive with an open issue): it is reported instead of failing, and
	// fails once it is no longer refused so the marker gets removed.
	Gap string `json:"gap,omitempty"`
}

// Issue 11 #20 and #24 on the request plane, without a policy: arguments
// are judged with the request-plane injection model and threshold. Harmless
// arguments (code that addresses a model, SQL, paths, e-mails announcing
// new instructions, shell commands) reach the upstream; injected ones, in
// six languages, with fake tags or tool-hijack text, are refused and never
// reach it.
func TestAttackCorpusRequestArguments(t *testing.T) {
	entries := loadJSONL[argumentsEntry](t, "testdata/attacks/request_arguments.jsonl")
	up := newScriptedUpstream(t)
	var ok corpusStep
	ok.Upstream.Body = `{"jsonrpc":"2.0","id":{{id}},"result":{"content":[{"type":"text","text":"done"}]}}`
	up.set(&ok)
	env := startBypassEnv(t, &recorder{srv: up.srv}, "")
	var harmless, refusedHarmless, knownFP, injected, refusedInjected int
	for i, e := range entries {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"tool_%d","arguments":%s}}`, i+1, i+1, e.Arguments)
		before := len(up.received())
		_, _, got := postRaw(t, env.base+"/mcp/up", body, nil)
		reached := len(up.received()) > before
		refused := strings.Contains(string(got), "blocked by policy: injection")
		if e.Injection {
			injected++
			if refused && !reached {
				refusedInjected++
				continue
			}
			t.Errorf("injected %s arguments %s: client got %s (upstream reached: %v)", e.Kind, e.Arguments, got, reached)
			continue
		}
		harmless++
		passed := !refused && reached && strings.Contains(string(got), `"done"`)
		switch {
		case e.Gap != "" && passed:
			t.Errorf("known gap %q is closed: harmless %s arguments now pass; remove its gap marker", e.Gap, e.Kind)
		case e.Gap != "" && refused && !reached:
			refusedHarmless++
			knownFP++
			t.Logf("known gap (%s): harmless %s arguments refused", e.Gap, e.Kind)
		case !passed:
			refusedHarmless++
			t.Errorf("harmless %s arguments %s: client got %s (upstream reached: %v)", e.Kind, e.Arguments, got, reached)
		}
	}
	t.Logf("harmless arguments refused: %d of %d (%d known gaps); injected arguments refused: %d of %d", refusedHarmless, harmless, knownFP, refusedInjected, injected)
	lines := env.audit(t)
	blocks := 0
	for _, l := range lines {
		if l.Operation == "tools/call" && l.Plane == "request" && l.Decision == "block" && slices.Contains(l.Rules, "builtin:injection") {
			blocks++
		}
	}
	if blocks != refusedInjected+knownFP {
		t.Errorf("%d builtin:injection refusals audited, want %d", blocks, refusedInjected+knownFP)
	}
}
