// Command devcheck prints quality on the *training* side of the split (make
// dev-injection), for developing rules and features without looking at the
// held-out data that eval reports on: result-plane FPR of the harmless
// corpus's training and calibration groups (every security-writing chunk,
// one in four of the others), recall of training-template attacks embedded
// in those chunks, and TPR/FPR of one in five rows of the training dev
// sources. Numbers from here are not quality claims (the model has seen
// this data); they show whether a change moves what it should.
package main

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

func score(d *injection.Detector, t string, p injection.Plane) injection.Verdict {
	return d.ScoreViewPlane(normalize.Normalize(injection.PrepareText(t)), p)
}

func main() {
	d := injection.Default()
	if len(os.Args) > 1 {
		b, err := os.ReadFile(os.Args[1])
		if err == nil {
			d, err = injection.New(b)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "devcheck:", err)
			os.Exit(1)
		}
	}
	chunks, err := injection.LoadHarmless(injection.DefaultHarmlessPath, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devcheck:", err)
		os.Exit(1)
	}
	var train []injection.Chunk
	n, fp := map[string]int{}, map[string]int{}
	for i, c := range chunks {
		if injection.SplitOfChunk(c) == injection.SplitEval {
			continue
		}
		train = append(train, c)
		if c.Kind != "security_writing" && i%4 != 0 {
			continue
		}
		v := score(d, c.Text, injection.PlaneResult)
		n[c.Kind]++
		if v.Flagged {
			fp[c.Kind]++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(n)) {
		fmt.Printf("dev %s: %d/%d = %.3f\n", k, fp[k], n[k], float64(fp[k])/float64(n[k]))
	}
	r := rand.New(rand.NewPCG(99, 1))
	atk := injection.GenerateAttacks(777, 1000, false)
	det := 0
	for i, a := range atk {
		doc := train[r.IntN(len(train))].Text
		if score(d, injection.Embed(doc, a.Text, injection.Placements[i%len(injection.Placements)], r), injection.PlaneResult).Flagged {
			det++
		}
	}
	fmt.Printf("dev embedded training-template attacks: %d/%d = %.3f\n", det, len(atk), float64(det)/float64(len(atk)))
	rows, err := injection.LoadDev(injection.DefaultDevPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devcheck:", err)
		os.Exit(1)
	}
	var tp, fn, fpr, tn int
	for i, rw := range rows {
		if injection.SplitOfRow(rw) == injection.SplitEval || i%5 != 0 {
			continue
		}
		pl := injection.PlaneResult
		if rw.Kind == "direct" {
			pl = injection.PlaneRequest
		}
		f := score(d, rw.Text, pl).Flagged
		switch {
		case rw.Label == 1 && f:
			tp++
		case rw.Label == 1:
			fn++
		case f:
			fpr++
		default:
			tn++
		}
	}
	fmt.Printf("dev rows (training sources, 1 in 5): TPR %.3f (%d) FPR %.3f (%d)\n", float64(tp)/float64(tp+fn), tp+fn, float64(fpr)/float64(fpr+tn), fpr+tn)
}
