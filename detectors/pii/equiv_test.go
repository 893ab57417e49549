package pii_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
	"github.com/portcullis-mcp/portcullis/detectors/pii"
	"github.com/portcullis-mcp/portcullis/detectors/pii/internal/piiref"
)

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


func TestWriteGoldenFromReference(t *testing.T) {
	if os.Getenv("GOLDEN_FROM_REF") == "" {
		t.Skip()
	}
	if err := golden.Write(goldenPath, piiTexts(t), findLine(func(s string) []pii.Entity {
		var out []pii.Entity
		for _, e := range piiref.Find(s) {
			out = append(out, pii.Entity{Type: e.Type, Start: e.Start, End: e.End, Score: e.Score})
		}
		return out
	})); err != nil {
		t.Fatal(err)
	}
}
