package detectors

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
)

const scanGoldenPath = "testdata/scan.golden"

var scanDocs golden.Inputs

// goldenScanDocs is the golden inputs of ScanJSON: real harmless tool
// output (a sample of the committed corpus) as MCP results split into text
// blocks of at most 900 bytes, every third with a generated attack embedded
// (as text, or as a structured result for the JSON placements), the
// benchmark documents and the documents of the per-leaf view checks.
func goldenScanDocs(t testing.TB) []string { return scanDocs.Get(t, loadScanDocs) }

func loadScanDocs(t testing.TB) []string {
	chunks, err := injection.LoadHarmless("injection/corpus/harmless.jsonl.gz", 600)
	if err != nil {
		t.Logf("harmless corpus: %v", err)
	}
	attacks := injection.GenerateAttacks(21, 64, false)
	r := rand.New(rand.NewPCG(5, 6))
	var out []string
	for i, c := range chunks {
		if !golden.InShort(i) {
			continue
		}
		text, structured := c.Text, ""
		if i%3 == 0 && len(attacks) > 0 {
			place := injection.Placements[(i/3)%len(injection.Placements)]
			emb := injection.Embed(text, attacks[(i/3)%len(attacks)].Text, place, r)
			if place == injection.PlaceJSONField || place == injection.PlaceSplitFields {
				structured = emb
			} else {
				text = emb
			}
		}
		out = append(out, string(mcpResult(text, structured)))
	}
	for _, n := range []int{1 << 10, 4 << 10, 64 << 10} {
		out = append(out, string(benchDoc(n)))
	}
	for _, d := range fastPathDocs() {
		out = append(out, string(d))
	}
	return out
}

// mcpResult wraps text as a tools/call result of text blocks (split at line
// breaks into blocks of at most 900 bytes), with structured (a JSON
// document) as structuredContent when set.
func mcpResult(text, structured string) []byte {
	b := []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[`)
	first := true
	for len(text) > 0 {
		n := len(text)
		if n > 900 {
			n = 900
			if i := strings.LastIndexByte(text[:n], '\n'); i > 0 {
				n = i + 1
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"type":"text","text":`...)
		b = jsonwalk.AppendQuote(b, text[:n])
		b = append(b, '}')
		text = text[n:]
	}
	b = append(b, ']')
	if structured != "" {
		b = append(b, `,"structuredContent":`...)
		b = append(b, structured...)
	}
	return append(b, `}}`...)
}

// reportLine is the canonical golden output of a report: the injection
// summary, then every finding (detector, category, entity, exact
// confidence, path, span), or the scan error.
func reportLine(rep *Report, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	var b strings.Builder
	in := rep.Injection
	b.WriteString("injection " + strconv.FormatFloat(in.Score, 'g', -1, 64) + " " + strconv.FormatBool(in.Flagged) + " " + strings.Join(in.Reasons, ","))
	if rep.Truncated {
		b.WriteString(" truncated")
	}
	for _, f := range rep.Findings {
		b.WriteString(" | " + f.Detector + " " + f.Category + " " + f.EntityType + " " + strconv.FormatFloat(f.Confidence, 'g', -1, 64) +
			" " + f.Path + " " + strconv.Itoa(f.Start) + "-" + strconv.Itoa(f.End))
	}
	return b.String()
}

// TestScanGolden pins ScanJSON's whole report on both planes (exact
// scores, every finding) over real tool output with and without embedded
// attacks, so that restructuring the scan cannot change what it finds.
// Retraining the injection model changes the injection scores: rerun with
// -update then and review the diff.
func TestScanGolden(t *testing.T) {
	docs := goldenScanDocs(t)
	if len(docs) < 500 && !testing.Short() {
		t.Fatalf("only %d documents", len(docs))
	}
	res, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := NewEngine(Options{Plane: injection.PlaneRequest})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, scanGoldenPath, docs, !testing.Short(), func(d string) string {
		return reportLine(res.ScanJSON([]byte(d))) + " || " + reportLine(req.ScanJSON([]byte(d)))
	})
}
