package injection

import (
	"fmt"
	"github.com/portcullis-mcp/portcullis/internal/cputime/cputimetest"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

// benchText builds a realistic benign tool result of about size bytes from
// the generator (seeded, so every run measures the same text).
func benchText(size int) string {
	var b strings.Builder
	for _, g := range GenerateBenign(42, 400) {
		if b.Len() >= size {
			break
		}
		b.WriteString(g)
		b.WriteByte('\n')
	}
	return b.String()[:size]
}

var benchSizes = []struct {
	name string
	n    int
}{{"1KB", 1 << 10}, {"4KB", 4 << 10}, {"64KB", 64 << 10}}

func BenchmarkScore(b *testing.B) {
	d := Default()
	for _, sz := range benchSizes {
		text := benchText(sz.n)
		b.Run(sz.name+"/Score", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			cputimetest.Loop(b, func() { d.Score(text) })
		})
		v := normalize.Normalize(text)
		b.Run(sz.name+"/ScoreView", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			cputimetest.Loop(b, func() { d.ScoreView(v) })
		})
		// the request plane (tool arguments): its own model windows
		b.Run(sz.name+"/ScoreViewRequest", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			cputimetest.Loop(b, func() { d.ScoreViewPlane(v, PlaneRequest) })
		})
		// baseline: one pass of strings.ToLower over the same text
		b.Run(sz.name+"/baseline-ToLower", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			cputimetest.Loop(b, func() { _ = strings.ToLower(text) })
		})
	}
}

// BenchmarkLinear times Score on each linearInputs text at 1x and 16x (ns/op
// of x16 should be about 16 times x1); TestScoreLinearWork is the
// deterministic check.
func BenchmarkLinear(b *testing.B) {
	d := Default()
	for name, s := range linearInputs {
		for _, k := range []int{1, 16} {
			in := strings.Repeat(s, k)
			b.Run(fmt.Sprintf("%s/x%d", name, k), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					d.Score(in)
				}
			})
		}
	}
}
