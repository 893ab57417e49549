package detectors

import (
	"github.com/portcullis-mcp/portcullis/internal/cputime/cputimetest"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/exfil"
	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
	"github.com/portcullis-mcp/portcullis/detectors/pii"
	"github.com/portcullis-mcp/portcullis/detectors/secrets"
)

// BenchmarkStages splits the 4 KB ScanJSON cost into its stages, each run
// alone on precomputed inputs: the walk, flattening the prose, the one
// normalisation, the injection scorer (detectors/injection, owned
// separately), and the per-leaf PII, secrets and exfiltration scans.
func BenchmarkStages(b *testing.B) {
	doc := benchDoc(4 << 10)
	res, err := jsonwalk.Walk(doc, jsonwalk.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	var fb strings.Builder
	injection.FlattenLeaves(&fb, res.Leaves, "", 4<<20, 0, nil)
	flat := fb.String()
	view := normalize.Normalize(flat)
	det := injection.Default()
	for _, l := range res.Leaves { // lazily compiled rules are not timed
		secrets.Find(l.Value)
		pii.Find(l.Value)
	}
	leafBench := func(name string, f func(s string)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			cputimetest.Loop(b, func() {
				for _, l := range res.Leaves {
					f(l.Value)
				}
			})
		})
	}
	b.Run("walk", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		cputimetest.Loop(b, func() {
			_, _ = jsonwalk.Walk(doc, jsonwalk.Limits{})
		})
	})
	b.Run("flatten", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		cputimetest.Loop(b, func() {
			var fb strings.Builder
			injection.FlattenLeaves(&fb, res.Leaves, "", 4<<20, 0, nil)
		})
	})
	b.Run("normalize", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		cputimetest.Loop(b, func() {
			normalize.Normalize(flat)
		})
	})
	b.Run("injection_score", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		cputimetest.Loop(b, func() {
			det.ScoreViewPlane(view, injection.PlaneResult)
		})
	})
	leafBench("pii", func(s string) { pii.Find(s) })
	leafBench("secrets", func(s string) { secrets.Find(s) })
	leafBench("exfil", func(s string) { exfil.Scan(s) })
}
