package secrets

import (
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden/goldencorpus"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
)

const goldenPath = "testdata/find.golden"

// markdownTails put a lone '|' (and look-alikes) after rule keywords.
var markdownTails = []string{" | ", "|", " |x", " || abcdefghijklmnop1234", "||abcdefghijk123456", " ' |", "  \t|", " \f|| abcdefghijklmnop12",
	"_name | value", " = | abcdefghijklmnop123456", ": abcdefghijklmnop123456 |", " |= abcdefghijklmnop123"}

// findTexts: gitleaks' true- and false-positive samples, a sample of real
// harmless tool output, and every keyword followed by markdown-table tails.
func loadFindTexts(t testing.TB) []string {
	var texts []string
	samples := loadSamples(t)
	for _, id := range slices.Sorted(maps.Keys(samples)) { // stable golden order
		set := samples[id]
		texts = append(texts, set.TPs...)
		texts = append(texts, set.FPs...)
	}
	texts = append(texts, goldencorpus.Harmless(t)...)
	for _, ru := range rules {
		for _, k := range ru.keywords {
			for _, tail := range markdownTails {
				texts = append(texts, k+tail, "| "+strings.ToUpper(k)+tail+" |")
			}
		}
	}
	return texts
}

// findLine is the canonical golden output of Find(s).
func findLine(s string) string {
	var spans []golden.Span
	for _, m := range Find(s) {
		spans = append(spans, golden.Span{Label: m.Rule, Start: m.Start, End: m.End, Score: m.Confidence})
	}
	return golden.Spans(s, spans)
}

// TestFindGolden pins Find's matches (testdata/find.golden, first generated
// from the code before the speed work; -update rewrites it after an
// intended change).
func TestFindGolden(t *testing.T) {
	texts := findTexts(t)
	if len(texts) < 2000 {
		t.Fatalf("only %d texts", len(texts))
	}
	golden.Check(t, goldenPath, texts, !testing.Short(), findLine)
}

var goldenInputs golden.Inputs

// findTexts is the golden inputs, loaded once per test binary.
func findTexts(t testing.TB) []string { return goldenInputs.Get(t, loadFindTexts) }
