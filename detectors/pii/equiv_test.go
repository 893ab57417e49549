package pii_test

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/pii"
	"github.com/portcullis-mcp/portcullis/detectors/pii/internal/piiref"
)

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
	chunks, err := injection.LoadHarmless("../injection/corpus/harmless.jsonl.gz", corpusLimit())
	if err != nil {
		t.Logf("harmless corpus: %v", err)
	}
	for _, c := range chunks {
		out = append(out, c.Text)
	}
	return out
}

func checkFind(t *testing.T, s string) {
	t.Helper()
	got, want := pii.Find(s), piiref.Find(s)
	if len(got) != len(want) {
		t.Fatalf("Find(%.200q): %d entities, reference %d:\n%+v\n%+v", s, len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Type != w.Type || g.Start != w.Start || g.End != w.End || g.Score != w.Score {
			t.Fatalf("Find(%.200q)[%d] = %+v, reference %+v", s, i, g, w)
		}
	}
}

// TestFindMatchesReference: the optimised recognisers return exactly the
// entities of the frozen reference (piiref) on the dev sentences and on
// real tool output.
func TestFindMatchesReference(t *testing.T) {
	n := 0
	for _, s := range piiTexts(t) {
		checkFind(t, s)
		n++
	}
	if n < 1000 && !testing.Short() {
		t.Fatalf("only %d texts", n)
	}
	if !reflect.DeepEqual(pii.Types, piiref.Types) {
		t.Fatal("entity types differ")
	}
}

func FuzzFindMatchesReference(f *testing.F) {
	for _, s := range []string{"call me at (415) 555-0134", "SSN 078-05-1121", "card 4111 1111 1111 1111", "Dear Maria Lopez,",
		"maria@example.org", "IBAN DE89 3704 0044 0532 0130 00", "10.0.0.1 and fe80::1", "born on 03/04/1980", "12 Main Street"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkFind(t, s) })
}

// corpusLimit is how many harmless chunks the equivalence tests read (fewer
// with -short).
func corpusLimit() int {
	if testing.Short() {
		return 200
	}
	return 1500
}
