// Command devcheck prints quality on the *training* side of the split (make
// dev-injection), for developing rules and features without looking at the
// held-out data that eval reports on: result-plane FPR of the harmless
// corpus's training and calibration groups (every security-writing chunk,
// one in four of the others), recall of training-template attacks embedded
// in those chunks, and TPR/FPR of one in five rows of the training dev
// sources. Numbers from here are not quality claims (the model has seen
// this data); they show whether a change moves what it should.
//
// With -loso SRC[,SRC...] it first retrains without those training sources
// (a few minutes) and reports TPR/FPR/AUC on their rows: a
// leave-one-source-out estimate of how the model does on a source it never
// saw, among the training sources only (an evaluation source is refused).
package main

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

func score(d *injection.Detector, t string, p injection.Plane) injection.Verdict {
	return d.ScoreViewPlane(normalize.Normalize(injection.PrepareText(t)), p)
}

func main() {
	modelPath := flag.String("model", "", "weights file to check instead of the embedded model")
	save = flag.String("save", "", "with -loso: write the retrained weights here")
	loso := flag.String("loso", "", "comma-separated training sources (by prefix) to leave out: retrain without them (minutes) and report on them")
	flag.Parse()
	d := injection.Default()
	if *modelPath != "" {
		b, err := os.ReadFile(*modelPath)
		if err == nil {
			d, err = injection.New(b)
		}
		if err != nil {
			fail(err)
		}
	}
	chunks, err := injection.LoadHarmless(injection.DefaultHarmlessPath, 0)
	if err != nil {
		fail(err)
	}
	if *loso != "" {
		d, err = leaveOut(strings.Split(*loso, ","), chunks)
		if err != nil {
			fail(err)
		}
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
			fmt.Printf("  FP %s %s %.2f %v\n", c.Kind, c.Origin, v.Score, v.Reasons)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(n)) {
		fmt.Printf("dev %s: %d/%d = %.3f\n", k, fp[k], n[k], float64(fp[k])/float64(n[k]))
	}
	// Harmless text under the evasion transforms that are not decoded
	// everywhere: a model that learnt the transform instead of the attack
	// flags these (training on rot13/reversed attacks did: a third).
	for _, tf := range injection.Transforms {
		if tf.Name != "rot13" && tf.Name != "reversed" {
			continue
		}
		k, f := 0, 0
		for i, c := range train {
			if i%40 != 0 {
				continue
			}
			k++
			if score(d, tf.Apply(c.Text), injection.PlaneResult).Flagged {
				f++
			}
		}
		fmt.Printf("dev harmless training chunks under %s: %d/%d flagged\n", tf.Name, f, k)
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
		fail(err)
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

var save *string

func fail(err error) {
	fmt.Fprintln(os.Stderr, "devcheck:", err)
	os.Exit(1)
}

// leaveOut retrains without the given training sources and prints, for
// their rows (never seen by that model), TPR/FPR at the row's plane
// threshold and AUC: how the model does on a source it was not trained
// on, without touching the excluded evaluation sources.
func leaveOut(drop []string, chunks []injection.Chunk) (*injection.Detector, error) {
	for _, s := range drop {
		for e := range injection.EvalSources {
			if strings.HasPrefix(e, s) {
				return nil, fmt.Errorf("%s is an evaluation source: devcheck never looks at it", e)
			}
		}
	}
	rows, err := injection.LoadDev(injection.DefaultDevPath)
	if err != nil {
		return nil, err
	}
	b, err := injection.Train(rows, injection.TrainOptions{Harmless: chunks, DropSources: drop, Log: os.Stderr})
	if err != nil {
		return nil, err
	}
	d, err := injection.New(b)
	if err != nil {
		return nil, err
	}
	type sc struct {
		s float64
		y int
	}
	per := map[string][]sc{}
	flagged := map[string][2]int{}
	for _, rw := range rows {
		if !slices.ContainsFunc(drop, func(p string) bool { return strings.HasPrefix(rw.Source, p) }) {
			continue
		}
		pl := injection.PlaneResult
		if rw.Kind == "direct" {
			pl = injection.PlaneRequest
		}
		v := score(d, rw.Text, pl)
		k := rw.Kind
		per[k] = append(per[k], sc{v.Score, rw.Label})
		f := flagged[k]
		if v.Flagged {
			f[rw.Label]++
		}
		flagged[k] = f
	}
	for _, k := range slices.Sorted(maps.Keys(per)) {
		var pos, neg int
		for _, x := range per[k] {
			if x.y == 1 {
				pos++
			} else {
				neg++
			}
		}
		// AUC by ranks (ties count half)
		xs := per[k]
		sort.Slice(xs, func(i, j int) bool { return xs[i].s < xs[j].s })
		var rankSum float64
		for i := 0; i < len(xs); {
			j := i
			for j < len(xs) && xs[j].s == xs[i].s {
				j++
			}
			for t := i; t < j; t++ {
				if xs[t].y == 1 {
					rankSum += float64(i+j+1) / 2
				}
			}
			i = j
		}
		auc := "-"
		if pos > 0 && neg > 0 {
			auc = fmt.Sprintf("%.3f", (rankSum-float64(pos*(pos+1))/2)/float64(pos*neg))
		}
		f := flagged[k]
		fmt.Printf("left out %v, %s rows: TPR %.3f (%d) FPR %.3f (%d) AUC %s\n", drop, k,
			float64(f[1])/float64(max(pos, 1)), pos, float64(f[0])/float64(max(neg, 1)), neg, auc)
		// how recall and false positives trade at other thresholds, with
		// the calibration part of the trigger-word prompts alongside
		// (request plane) for over-defence
		var trig []float64
		if k == "direct" {
			for _, t := range injection.GenerateTriggerBenignPart(1, 240, injection.TriggerCalib) {
				trig = append(trig, score(d, t, injection.PlaneRequest).Score)
			}
		}
		for _, th := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.8} {
			var tp, fp, tf int
			for _, x := range xs {
				if x.s >= th {
					if x.y == 1 {
						tp++
					} else {
						fp++
					}
				}
			}
			for _, t := range trig {
				if t >= th {
					tf++
				}
			}
			fmt.Printf("  at %.1f: TPR %.3f FPR %.3f trigger-word calibration prompts flagged %d/%d\n", th,
				float64(tp)/float64(max(pos, 1)), float64(fp)/float64(max(neg, 1)), tf, len(trig))
		}
	}
	if *save != "" {
		if err := os.WriteFile(*save, b, 0o644); err != nil {
			return nil, err
		}
	}
	return d, nil
}
