// Package goldencorpus loads the golden tests' shared inputs from the
// repository's corpora (apart from golden so that the normalize package's
// internal tests can use golden without importing injection).
package goldencorpus

import (
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
)

// HarmlessPath is the harmless tool-output corpus, relative to a detector
// package directory (where its tests run).
const HarmlessPath = "../injection/corpus/harmless.jsonl.gz"

// Harmless is the golden inputs' sample of real harmless tool output: the
// first 1,500 chunks of the corpus (under -short, the subset golden.InShort keeps).
// A corpus that cannot be read is logged and yields what was read.
func Harmless(t testing.TB) []string {
	chunks, err := injection.LoadHarmless(HarmlessPath, 1500)
	if err != nil {
		t.Logf("harmless corpus: %v", err)
	}
	var out []string
	for i, c := range chunks {
		if golden.InShort(i) {
			out = append(out, c.Text)
		}
	}
	return out
}
