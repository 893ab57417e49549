package pii_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
	"github.com/portcullis-mcp/portcullis/detectors/pii"
)

const goldenPath = "testdata/find.golden"

// piiTexts: the PII dev sentences and a sample of real harmless tool output.
func piiTexts(t testing.TB) []string {
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
	chunks, err := injection.LoadHarmless("../injection/corpus/harmless.jsonl.gz", 1500)
	if err != nil {
		t.Logf("harmless corpus: %v", err)
	}
	for i, c := range chunks {
		if !testing.Short() || i%8 == 0 { // -short: a subset of the golden's inputs
			out = append(out, c.Text)
		}
	}
	return out
}

// findLine is the canonical golden output of Find(s): every entity as
// type, byte span, score and the matched text (abridged), or "-".
func findLine(find func(string) []pii.Entity) func(string) string {
	return func(s string) string {
		es := find(s)
		if len(es) == 0 {
			return "-"
		}
		parts := make([]string, len(es))
		for i, e := range es {
			text := ""
			if 0 <= e.Start && e.Start <= e.End && e.End <= len(s) {
				text = golden.Excerpt(s[e.Start:e.End], 40)
			}
			parts[i] = fmt.Sprintf("%s %d-%d %s %s", e.Type, e.Start, e.End, strconv.FormatFloat(e.Score, 'g', -1, 64), text)
		}
		return strings.Join(parts, " | ")
	}
}

// TestFindGolden pins Find's entities on the PII dev sentences and on real
// tool output (testdata/find.golden, first generated from the code before
// the speed work; -update rewrites it after an intended change).
func TestFindGolden(t *testing.T) {
	texts := piiTexts(t)
	if len(texts) < 1000 && !testing.Short() {
		t.Fatalf("only %d texts", len(texts))
	}
	golden.Check(t, goldenPath, texts, !testing.Short(), findLine(pii.Find))
}
