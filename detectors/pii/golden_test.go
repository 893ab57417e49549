package pii_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden/goldencorpus"
	"os"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
	"github.com/portcullis-mcp/portcullis/detectors/pii"
)

const goldenPath = "testdata/find.golden"

// piiTexts: the PII dev sentences and a sample of real harmless tool output.
func loadPiiTexts(t testing.TB) []string {
	var out []string
	f, err := os.Open("corpus/dev.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(z)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			Text string `json:"full_text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Text)
	}
	out = append(out, goldencorpus.Harmless(t)...)
	return out
}

// findLine is the canonical golden output of Find(s).
func findLine(s string) string {
	var spans []golden.Span
	for _, e := range pii.Find(s) {
		spans = append(spans, golden.Span{Label: e.Type, Start: e.Start, End: e.End, Score: e.Score})
	}
	return golden.Spans(s, spans)
}

// TestFindGolden pins Find's entities on the PII dev sentences and on real
// tool output (testdata/find.golden, first generated from the code before
// the speed work; -update rewrites it after an intended change).
func TestFindGolden(t *testing.T) {
	texts := piiTexts(t)
	if len(texts) < 1000 && !testing.Short() {
		t.Fatalf("only %d texts", len(texts))
	}
	golden.Check(t, goldenPath, texts, !testing.Short(), findLine)
}

var goldenInputs golden.Inputs

// piiTexts is the golden inputs, loaded once per test binary.
func piiTexts(t testing.TB) []string { return goldenInputs.Get(t, loadPiiTexts) }
