package soak

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	s := func(calls, rssMiB, gor, fds int64) Sample {
		return Sample{Calls: calls, RSSBytes: rssMiB << 20, Goroutines: gor, FDs: fds}
	}
	b := Bounds{RSSBytes: 10 << 20, Goroutines: 5, FDs: 3}
	tests := []struct {
		name    string
		samples []Sample
		want    []string // substrings of the problems, in order
	}{
		{"flat", []Sample{s(0, 10, 10, 10), s(100, 50, 20, 20), s(200, 55, 22, 21), s(300, 52, 21, 20)}, nil},
		{"growth before warm-up is ignored", []Sample{s(0, 10, 10, 10), s(50, 90, 90, 90), s(100, 95, 92, 91), s(200, 96, 93, 92)}, nil},
		{"rss leak", []Sample{s(100, 50, 20, 20), s(200, 58, 20, 20), s(300, 61, 20, 20)}, []string{"RSS grew by 11.0 MiB"}},
		{"goroutine and fd leak", []Sample{s(100, 50, 20, 20), s(200, 50, 30, 24)}, []string{"goroutines grew by 10", "open file descriptors grew by 4"}},
		{"too short", []Sample{s(0, 10, 10, 10), s(100, 10, 10, 10)}, []string{"only 1 samples after warm-up"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := Check(tc.samples, 100, b)
			if len(g.Problems) != len(tc.want) {
				t.Fatalf("problems = %q, want %d matching %q", g.Problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(g.Problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, g.Problems[i], w)
				}
			}
		})
	}
}

func TestVMRSS(t *testing.T) {
	got, err := vmRSS([]byte("Name:\tportcullis\nVmPeak:\t  900 kB\nVmRSS:\t   51200 kB\nThreads: 9\n"))
	if err != nil || got != 50<<20 {
		t.Fatalf("vmRSS = %d, %v; want %d", got, err, 50<<20)
	}
	if _, err := vmRSS([]byte("Name: x\n")); err == nil {
		t.Fatal("want an error without a VmRSS line")
	}
}

func TestMetricValue(t *testing.T) {
	body := []byte("# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines_total_x 3\ngo_goroutines 42\n")
	if v, err := metricValue(body, "go_goroutines"); err != nil || v != 42 {
		t.Fatalf("metricValue = %d, %v; want 42", v, err)
	}
	if _, err := metricValue(body, "process_open_fds"); err == nil {
		t.Fatal("want an error for a missing metric")
	}
}

func TestClassify(t *testing.T) {
	text := func(s string) []byte {
		return []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"` + s + `"}]}}`)
	}
	tests := []struct {
		name   string
		status int
		msg    []byte
		want   Outcome
	}{
		{"allowed", 200, text("3 results for your query: alpha"), Allowed},
		{"redacted", 200, text("Customer 4411: Jane Roe, [EMAIL_1], card [CREDIT_CARD_1]"), Redacted},
		{"pii leaked", 200, text("Customer 4411: jane.roe@example.com"), Unexpected},
		{"injection leaked", 200, text(injectedTxt), Unexpected},
		{"notice", 200, text("[Portcullis withheld this result: prompt injection]"), Notice},
		{"refusal", 200, []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"blocked"}}`), Blocked},
		{"http error", 500, []byte(`Internal Server Error`), Unexpected},
		{"empty result", 200, []byte(`{"jsonrpc":"2.0","id":1,"result":{}}`), Unexpected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.status, tc.msg); got != tc.want {
				t.Fatalf("classify = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLastSSEData(t *testing.T) {
	raw := []byte("event: message\ndata: {\"a\":1}\n\n: comment\ndata: {\"b\":\ndata: 2}\n\n")
	// Data lines of one event are joined with a newline (SSE spec).
	if got := string(lastSSEData(raw)); got != "{\"b\":\n2}" {
		t.Fatalf("lastSSEData = %q", got)
	}
}

func TestPlotRSS(t *testing.T) {
	var samples []Sample
	for i := range 20 {
		samples = append(samples, Sample{Elapsed: time.Duration(i) * time.Second, Calls: int64(i) * 100, RSSBytes: int64(40+i%3) << 20})
	}
	var buf bytes.Buffer
	if err := PlotRSS(&buf, samples, 500, "test"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != plotW || b.Dy() != plotH {
		t.Fatalf("plot is %dx%d, want %dx%d", b.Dx(), b.Dy(), plotW, plotH)
	}
	var line, warm int
	for y := 0; y < plotH; y++ {
		for x := 0; x < plotW; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			switch [3]uint32{r >> 8, g >> 8, b >> 8} {
			case [3]uint32{uint32(colLine.R), uint32(colLine.G), uint32(colLine.B)}:
				line++
			case [3]uint32{uint32(colWarm.R), uint32(colWarm.G), uint32(colWarm.B)}:
				warm++
			}
		}
	}
	// The RSS line spans the plot width; the warm-up mark spans its height.
	if line < plotW-marginL-marginR || warm < (plotH-marginT-marginB)/2 {
		t.Fatalf("plot has %d line pixels and %d warm-up pixels", line, warm)
	}
}

// TestDriverAgainstUpstream runs the driver against the fake upstream with
// no gateway in between: every call then comes back unfiltered, so the
// classifier must flag the leaked PII and injection as unexpected.
func TestDriverAgainstUpstream(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	d := newDriver(srv.URL, 4, 3, 2)
	if err := d.run(context.Background(), int64(len(mix)), 4); err != nil {
		t.Fatal(err)
	}
	// search x5 allowed; run_query and delete_item answered by the upstream
	// instead of refused; read_record x2 leak PII; fetch_page leaks.
	if d.counts[Allowed] != 5 || d.counts[Unexpected] != 5 {
		t.Fatalf("counts = %v, want 5 allowed and 5 unexpected", d.counts)
	}
	if up.calls.Load() != int64(len(mix)) {
		t.Fatalf("upstream saw %d calls, want %d", up.calls.Load(), len(mix))
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET status %d", resp.StatusCode)
	}
}

func TestMainFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Main(context.Background(), []string{"--calls", "0"}, &out, &errb); err == nil {
		t.Fatal("want an error for --calls 0")
	}
	if err := Main(context.Background(), []string{"extra"}, &out, &errb); err == nil {
		t.Fatal("want an error for a stray argument")
	}
	if err := Main(context.Background(), []string{"-h"}, &out, &errb); err != nil {
		t.Fatalf("-h: %v", err)
	}
}
