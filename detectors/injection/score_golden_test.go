package injection_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
	"github.com/portcullis-mcp/portcullis/detectors/internal/golden/goldencorpus"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

const scoreGoldenPath = "testdata/score.golden"

var scoreTexts golden.Inputs

// goldenScoreTexts is the golden inputs of the scorer: real harmless tool
// output (goldencorpus.Harmless), every 8th dev row, generated attacks
// (training and held-out templates) alone and embedded in harmless chunks
// at every placement, and long texts (several windows, the 64 KiB chunking).
func goldenScoreTexts(t testing.TB) []string { return scoreTexts.Get(t, loadScoreTexts) }

func loadScoreTexts(t testing.TB) []string {
	harmless := goldencorpus.Harmless(t)
	out := append([]string(nil), harmless...)
	rows, err := injection.LoadDev("corpus/dev.jsonl.gz")
	if err != nil {
		t.Logf("dev corpus: %v", err)
	}
	for i, r := range rows {
		if i%8 == 0 && golden.InShort(i/8) {
			out = append(out, r.Text)
		}
	}
	attacks := append(injection.GenerateAttacks(11, 160, false), injection.GenerateAttacks(12, 80, true)...)
	r := rand.New(rand.NewPCG(3, 4))
	for i, a := range attacks {
		out = append(out, a.Text)
		if len(harmless) > 0 && golden.InShort(i) {
			doc := harmless[(i*37)%len(harmless)]
			out = append(out, injection.Embed(doc, a.Text, injection.Placements[i%len(injection.Placements)], r))
		}
	}
	if len(harmless) > 0 {
		var b strings.Builder
		for i := 0; b.Len() < 80<<10; i++ {
			b.WriteString(harmless[(i*13)%len(harmless)])
			b.WriteByte('\n')
			if i == 40 && len(attacks) > 0 {
				b.WriteString(attacks[0].Text + "\n")
			}
		}
		long := b.String()
		out = append(out, long[:6<<10], long[:20<<10], long)
	}
	return out
}

// scoreLine is the golden output for one text: score (shortest exact
// float), flag and reasons on each plane.
func scoreLine(d *injection.Detector) func(string) string {
	return func(s string) string {
		v := normalize.Normalize(s)
		var b strings.Builder
		for i, p := range []injection.Plane{injection.PlaneResult, injection.PlaneRequest} {
			if i > 0 {
				b.WriteString(" || ")
			}
			vd := d.ScoreViewPlane(v, p)
			b.WriteString(p.String() + " " + strconv.FormatFloat(vd.Score, 'g', -1, 64) + " " + strconv.FormatBool(vd.Flagged) + " " + strings.Join(vd.Reasons, ","))
		}
		return b.String()
	}
}

// TestScoreGolden pins the scores (both planes, exact floats) and reasons
// of the embedded model on real tool output, dev rows and generated
// attacks, so speed work on the scorer cannot move a score unnoticed.
// Retraining model.bin changes every line: rerun with -update then and
// review the diff with the eval (`make eval-injection`).
func TestScoreGolden(t *testing.T) {
	texts := goldenScoreTexts(t)
	if len(texts) < 1500 && !testing.Short() {
		t.Fatalf("only %d texts", len(texts))
	}
	golden.Check(t, scoreGoldenPath, texts, !testing.Short(), scoreLine(injection.Default()))
}
