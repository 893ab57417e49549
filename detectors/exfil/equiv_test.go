package exfil_test

import (
	"os"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/exfil"
	"github.com/portcullis-mcp/portcullis/detectors/exfil/internal/exfilref"
	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
)

func checkScan(t *testing.T, s string) {
	t.Helper()
	got, want := exfil.Scan(s), exfilref.Scan(s)
	if len(got) != len(want) {
		t.Fatalf("Scan(%.200q) = %+v, reference %+v", s, got, want)
	}
	for i := range got {
		if got[i] != exfil.Hit(want[i]) {
			t.Fatalf("Scan(%.200q)[%d] = %+v, reference %+v", s, i, got[i], want[i])
		}
	}
}

// TestScanMatchesReference: the optimised scan returns exactly the hits of
// the frozen reference (exfilref) on real harmless tool output and on
// blob and URL shapes around the thresholds.
func TestScanMatchesReference(t *testing.T) {
	texts := scanSeeds
	chunks, err := injection.LoadHarmless("../injection/corpus/harmless.jsonl.gz", corpusLimit())
	if err != nil {
		t.Logf("harmless corpus: %v", err)
	}
	for _, c := range chunks {
		texts = append(texts, c.Text)
	}
	for _, s := range texts {
		checkScan(t, s)
	}
	if len(texts) < 1000 && !testing.Short() {
		t.Fatalf("only %d texts", len(texts))
	}
}

func FuzzScanMatchesReference(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkScan(t, s) })
}


func TestWriteGoldenFromReference(t *testing.T) {
	if os.Getenv("GOLDEN_FROM_REF") == "" {
		t.Skip()
	}
	if err := golden.Write(goldenPath, scanTexts(t), scanLine(func(s string) []exfil.Hit {
		var out []exfil.Hit
		for _, h := range exfilref.Scan(s) {
			out = append(out, exfil.Hit(h))
		}
		return out
	})); err != nil {
		t.Fatal(err)
	}
}

func corpusLimit() int { return 1500 }
