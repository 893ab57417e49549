package extproc

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/detectors"
	"github.com/portcullis-mcp/portcullis/detectors/redact"
	"github.com/portcullis-mcp/portcullis/internal/scriptstream"
)

// keptDetector is fakeDetector as a ReportScanner: it records the reports
// its scans hand out and the ones redaction gets back.
type keptDetector struct {
	fakeDetector
	scans    int
	handed   []ScanReport
	received []ScanReport
}

type fakeReport struct{ raw string }

func (k *keptDetector) Scan(raw []byte) ([]Finding, error) {
	k.scans++
	return k.fakeDetector.Scan(raw)
}

func (k *keptDetector) ScanKept(raw []byte, _ bool) ([]Finding, ScanReport, error) {
	fs, err := k.Scan(raw)
	rep := &fakeReport{raw: string(raw)}
	k.handed = append(k.handed, rep)
	return fs, rep, err
}

func (k *keptDetector) RedactWith(raw []byte, rep ScanReport, vault string, types []string, style string) ([]byte, error) {
	k.received = append(k.received, rep)
	if r, ok := rep.(*fakeReport); ok && r.raw != string(raw) {
		rep = nil // not this value's report: a real detector detects again
	}
	return k.fakeDetector.Redact(raw, vault, types, style)
}

// The pipeline hands redaction the report of the scan of the same value,
// on both planes, and none after a notice changed the value; the bytes
// forwarded are the same as with a detector that scans again.
func TestRedactionReusesTheScan(t *testing.T) {
	const req = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"pii:bob"}}}`
	const res = `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"mail pii:carol"}]}}`
	const notice = `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"INJECT"},{"type":"text","text":"pii:dave"}]}}`
	for _, tc := range []struct {
		name, body, resp string
		reused           int // RedactWith calls that got the scan's own report
	}{
		{"request arguments", req, "", 1},
		{"result", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`, res, 1},
		{"notice then redaction", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":{}}}`, notice, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(det Detector) []string {
				cfg, err := config.Parse([]byte(testConfig))
				if err != nil {
					t.Fatal(err)
				}
				srv := NewServer(cfg, WithEngines(Engines{Detector: det, ResultRules: DefaultResultRules}))
				st := srv.newStream(context.Background())
				defer st.finish()
				msgs := []*extprocv3.ProcessingRequest{reqHeadersMsg(), reqBodyMsg(tc.body)}
				if tc.resp != "" {
					msgs = append(msgs, respHeadersMsg("application/json"), respBodyMsg(tc.resp, true))
				}
				var out []string
				for _, m := range msgs {
					r, err := st.safeHandle(m)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, bodyOf(r))
				}
				return out
			}
			kd := &keptDetector{}
			got := run(kd)
			want := run(&fakeDetector{})
			if ids.ReplaceAllString(strings.Join(got, "\n"), "ID") != ids.ReplaceAllString(strings.Join(want, "\n"), "ID") {
				t.Errorf("reusing the scan changed the output:\n%q\nwant\n%q", got, want)
			}
			reused := 0
			for _, r := range kd.received {
				for _, h := range kd.handed {
					if r != nil && r == h {
						reused++
					}
				}
			}
			if reused != tc.reused || len(kd.received) != tc.reused {
				t.Errorf("%d of %d redactions reused the scan's report, want %d", reused, len(kd.received), tc.reused)
			}
		})
	}
}

// ids matches decision ids (random per decision).
var ids = regexp.MustCompile(`[0-9a-f]{32}`)

// engineDetector is a minimal Detector over detectors.Engine (the gateway's
// adapter cannot be imported here): one-way mask surrogates, no vaults.
type engineDetector struct{ eng *detectors.Engine }

func (d engineDetector) Scan(raw []byte) ([]Finding, error) {
	fs, _, err := d.scan(raw)
	return fs, err
}

func (d engineDetector) scan(raw []byte) ([]Finding, *detectors.Report, error) {
	rep, err := d.eng.ScanJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Finding, 0, len(rep.Findings))
	for _, f := range rep.Findings {
		out = append(out, Finding{Detector: f.Detector, Category: f.Category, EntityType: strings.ToLower(f.EntityType), Path: f.Path, Confidence: f.Confidence, Count: 1, Value: f.Value})
	}
	return out, rep, nil
}

func (engineDetector) ScanTools([]byte) (map[string]string, error) { return nil, nil }

func (d engineDetector) Redact(raw []byte, _ string, _ []string, _ string) ([]byte, error) {
	out, _, err := d.eng.RedactJSON(raw, redact.Mask, redact.NewVault(redact.VaultOptions{Key: []byte("bench")}))
	return out, err
}

func (engineDetector) Restore(raw []byte, _ string) ([]byte, int, error) { return raw, 0, nil }

// reuseDetector is engineDetector as a ReportScanner.
type reuseDetector struct{ engineDetector }

func (d reuseDetector) ScanKept(raw []byte, _ bool) ([]Finding, ScanReport, error) {
	fs, rep, err := d.scan(raw)
	if rep == nil {
		return fs, nil, err
	}
	return fs, rep, err
}

func (d reuseDetector) RedactWith(raw []byte, kept ScanReport, _ string, _ []string, _ string) ([]byte, error) {
	rep, _ := kept.(*detectors.Report)
	out, _, err := d.eng.RedactReport(raw, rep, redact.Mask, redact.NewVault(redact.VaultOptions{Key: []byte("bench")}))
	return out, err
}

// BenchmarkProcessToolCallRedact: one tools/call whose arguments (2 KB)
// and result (4 KB) carry personal data, both redacted by the built-in
// rules, through the real detection engine. rescan redacts by detecting
// again (the path before issue 10's change); reuse redacts from the scan's
// report. Each has its own sub-benchmark (allocations per call); paired
// alternates the two call by call, so both see the same machine load, and
// reports each one's median time per call and their ratio.
func BenchmarkProcessToolCallRedact(b *testing.B) {
	cfg, err := config.Parse([]byte(testConfig + "\n"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Limits.MaxBodyBytes = 1 << 20
	cfg.Limits.MaxSSEEventBytes = 1 << 20
	eng, err := detectors.NewEngine(detectors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	prose := strings.Repeat("The quarterly report lists the shipments of the northern warehouse. ", 30)
	arg := prose[:1900] + " reply to alice.example@example.com"
	text := prose + prose[:1800] + " contact bob.jones@example.org or card 4111 1111 1111 1111"
	req := `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"read_file","arguments":{"query":"` + arg + `","limit":10}}}`
	res := `{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"` + text + `"}]}}`
	script := []*extprocv3.ProcessingRequest{reqHeadersMsg(), reqBodyMsg(req), respHeadersMsg("application/json"), respBodyMsg(res, true)}
	var servers []*Server
	for _, v := range []struct {
		name string
		det  Detector
	}{{"rescan", engineDetector{eng}}, {"reuse", reuseDetector{engineDetector{eng}}}} {
		srv := NewServer(cfg, WithEngines(Engines{Detector: v.det, ResultRules: DefaultResultRules}))
		servers = append(servers, srv)
		// Both variants must redact both planes, identically.
		st := srv.newStream(context.Background())
		var outs []string
		for _, m := range script {
			r, err := st.safeHandle(m)
			if err != nil {
				b.Fatal(err)
			}
			outs = append(outs, bodyOf(r))
		}
		st.finish()
		if !strings.Contains(outs[1], "<EMAIL") && !strings.Contains(outs[1], "[EMAIL") {
			b.Fatalf("%s: arguments not redacted: %.200s", v.name, outs[1])
		}
		if strings.Contains(outs[3], "bob.jones@example.org") || outs[3] == "" {
			b.Fatalf("%s: result not redacted: %.200s", v.name, outs[3])
		}
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.Process(scriptstream.New(script)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("paired", func(b *testing.B) {
		var took [2][]time.Duration
		for i := 0; b.Loop(); i++ {
			for k := range 2 {
				j := (i + k) % 2 // alternate which goes first
				start := time.Now()
				if err := servers[j].Process(scriptstream.New(script)); err != nil {
					b.Fatal(err)
				}
				took[j] = append(took[j], time.Since(start))
			}
		}
		rescan, reuse := median(took[0]), median(took[1])
		b.ReportMetric(float64(rescan.Nanoseconds()), "rescan-ns/call")
		b.ReportMetric(float64(reuse.Nanoseconds()), "reuse-ns/call")
		if rescan > 0 {
			b.ReportMetric(float64(reuse)/float64(rescan), "reuse/rescan")
		}
	})
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
