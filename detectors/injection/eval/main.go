// Command eval prints the prompt-injection quality tables (make
// eval-injection) on data that took no part in training, calibration,
// threshold choice or rule tuning:
//
//   - the public dev sources in injection.EvalSources (excluded whole);
//   - the evaluation groups of the harmless corpus (whole packages, modules
//     and directories never trained on): false-positive rate per kind and
//     false positives per MB at the shipped result-plane threshold;
//   - attacks from held-out templates embedded in those harmless chunks, per
//     placement (start, middle, end, JSON field, HTML comment, table cell,
//     split across JSON fields), family and language;
//   - held-out NotInject-style trigger-word prompts at the request-plane
//     threshold;
//   - every evasion transform against plain text;
//   - the gateway's built-in request-plane rule on tool-call arguments:
//     held-out harmless chunks, the excluded public prompt sets and the
//     gateway's hand-written argument corpus.
//
// It reads the committed corpora, so it works from a clone.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

func main() {
	data := flag.String("data", injection.DefaultDevPath, "injection dev data (JSON lines, optionally .gz)")
	harmless := flag.String("harmless", injection.DefaultHarmlessPath, "harmless tool-output corpus")
	limit := flag.Int("limit", 0, "use about this many harmless chunks (0 = all; for quick runs)")
	modelPath := flag.String("model", "", "weights file to evaluate instead of the embedded model")
	argsPath := flag.String("arguments", "gateway/testdata/attacks/request_arguments.jsonl", "the gateway's hand-written tool-argument corpus (harmless and injected)")
	flag.Parse()
	var d *injection.Detector
	if *modelPath != "" {
		b, err := os.ReadFile(*modelPath)
		if err == nil {
			d, err = injection.New(b)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "eval:", err)
			os.Exit(1)
		}
	} else {
		d = injection.Default()
	}
	if err := run(d, *data, *harmless, *argsPath, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

type scored struct {
	score float64
	label int
}

type counts struct{ tp, fn, fp, tn int }

func (c *counts) add(label int, flagged bool) {
	switch {
	case label == 1 && flagged:
		c.tp++
	case label == 1:
		c.fn++
	case flagged:
		c.fp++
	default:
		c.tn++
	}
}

func rate(a, b int) string {
	if a+b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", float64(a)/float64(a+b))
}

func (c counts) tpr() float64 { return float64(c.tp) / float64(max(1, c.tp+c.fn)) }
func (c counts) tnr() float64 { return float64(c.tn) / float64(max(1, c.tn+c.fp)) }

// auc is the Mann-Whitney AUC with ties counted half.
func auc(in []scored) float64 {
	xs := append([]scored(nil), in...)
	sort.Slice(xs, func(i, j int) bool { return xs[i].score < xs[j].score })
	var pos, neg, rankSum float64
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && xs[j].score == xs[i].score {
			j++
		}
		avg := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if xs[k].label == 1 {
				rankSum += avg
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// score is what the engine does for a tool result or prompt: flatten a
// JSON document, normalise once, score with the plane's threshold.
func score(d *injection.Detector, text string, p injection.Plane) injection.Verdict {
	return d.ScoreViewPlane(normalize.Normalize(injection.PrepareText(text)), p)
}

func planeOf(kind string) injection.Plane {
	if kind == "direct" {
		return injection.PlaneRequest
	}
	return injection.PlaneResult
}

func run(d *injection.Detector, dataPath, harmlessPath, argsPath string, limit int) error {
	rows, err := injection.LoadDev(dataPath)
	if err != nil {
		return err
	}
	chunks, err := injection.LoadHarmless(harmlessPath, limit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("thresholds: request plane %.3f, result plane %.3f (calibrated at training on calibration groups only)\n\n", d.Threshold(injection.PlaneRequest), d.Threshold(injection.PlaneResult))

	// 1. Public sources excluded from training.
	fmt.Println("== public sources excluded from training, calibration and rule tuning (direct rows at the request threshold, tool results at the result threshold)")
	fmt.Fprintln(w, "source\tkind\tn\tpos\tTPR\tFPR\tAUC\t")
	bySrc := map[string][]scored{}
	cnt := map[string]*counts{}
	kinds := map[string]string{}
	var all counts
	var allS []scored
	var evalPos []injection.Row
	for _, r := range rows {
		if injection.SplitOfRow(r) != injection.SplitEval {
			continue
		}
		v := score(d, r.Text, planeOf(r.Kind))
		key := strings.TrimSuffix(strings.TrimSuffix(r.Source, "_clean"), "_injected")
		if cnt[key] == nil {
			cnt[key] = &counts{}
		}
		cnt[key].add(r.Label, v.Flagged)
		all.add(r.Label, v.Flagged)
		kinds[key] = r.Kind
		bySrc[key] = append(bySrc[key], scored{v.Score, r.Label})
		allS = append(allS, scored{v.Score, r.Label})
		if r.Label == 1 {
			evalPos = append(evalPos, r)
		}
	}
	for _, s := range sortedKeys(cnt) {
		c := cnt[s]
		a := "-"
		if x := auc(bySrc[s]); x > 0 {
			a = fmt.Sprintf("%.3f", x)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t\n", s, kinds[s], c.tp+c.fn+c.fp+c.tn, c.tp+c.fn, rate(c.tp, c.fn), rate(c.fp, c.tn), a)
	}
	fmt.Fprintf(w, "ALL excluded\t\t%d\t%d\t%s\t%s\t%.3f\t\n", all.tp+all.fn+all.fp+all.tn, all.tp+all.fn, rate(all.tp, all.fn), rate(all.fp, all.tn), auc(allS))
	w.Flush()
	fmt.Printf("balanced accuracy on excluded sources %.3f (target >= 0.92)\n\n", (all.tpr()+all.tnr())/2)

	// 2. Harmless tool output of groups never trained on.
	fmt.Println("== harmless tool output, evaluation groups only (packages/modules/directories never trained on), result-plane threshold")
	fmt.Fprintln(w, "kind\tchunks\tMB\tFP\tFPR\tFP/MB\t")
	type kstat struct {
		n, fp int
		bytes int
	}
	ks := map[string]*kstat{}
	var evalDocs []injection.Chunk
	var harmS []scored
	langFP, langN := 0, 0
	var fpExamples []string
	for _, c := range chunks {
		if injection.SplitOfChunk(c) != injection.SplitEval {
			continue
		}
		evalDocs = append(evalDocs, c)
		v := score(d, c.Text, injection.PlaneResult)
		harmS = append(harmS, scored{v.Score, 0})
		for _, k := range []string{c.Kind, "ALL"} {
			if ks[k] == nil {
				ks[k] = &kstat{}
			}
			ks[k].n++
			ks[k].bytes += len(c.Text)
			if v.Flagged {
				ks[k].fp++
			}
		}
		if c.Lang != "en" {
			langN++
			if v.Flagged {
				langFP++
			}
		}
		if v.Flagged && len(fpExamples) < 8 {
			fpExamples = append(fpExamples, fmt.Sprintf("%s %s %.2f %v", c.Source, c.Origin, v.Score, v.Reasons))
		}
	}
	for _, k := range sortedKeys(ks) {
		s := ks[k]
		mb := float64(s.bytes) / 1e6
		fmt.Fprintf(w, "%s\t%d\t%.2f\t%d\t%s\t%.2f\t\n", k, s.n, mb, s.fp, rate(s.fp, s.n-s.fp), float64(s.fp)/max(mb, 1e-9))
	}
	w.Flush()
	fmt.Printf("non-English chunks: %d, FP %d (%s)   target: FPR <= 0.01 on every kind\n", langN, langFP, rate(langFP, langN-langFP))
	for _, e := range fpExamples {
		fmt.Println("  FP:", e)
	}
	fmt.Println()

	// 3. Held-out attack templates embedded in evaluation harmless chunks.
	if len(evalDocs) == 0 {
		return fmt.Errorf("no evaluation chunks in the harmless corpus")
	}
	r := rand.New(rand.NewPCG(20261202, 5))
	atk := injection.GenerateAttacks(20261202, 1400, true)
	fmt.Printf("== %d attacks from held-out templates embedded in evaluation harmless chunks (result-plane threshold)\n", len(atk))
	byPlace, byFam, byLang := map[string]*counts{}, map[string]*counts{}, map[string]*counts{}
	var embS []scored
	for i, a := range atk {
		place := injection.Placements[i%len(injection.Placements)]
		doc := evalDocs[r.IntN(len(evalDocs))].Text
		v := score(d, injection.Embed(doc, a.Text, place, r), injection.PlaneResult)
		for _, m := range []struct {
			m map[string]*counts
			k string
		}{{byPlace, place}, {byFam, a.Family}, {byLang, a.Lang}, {byPlace, "ALL"}} {
			if m.m[m.k] == nil {
				m.m[m.k] = &counts{}
			}
			m.m[m.k].add(1, v.Flagged)
		}
		embS = append(embS, scored{v.Score, 1})
	}
	fmt.Fprintln(w, "placement\tn\tdetected\t\tfamily\tn\tdetected\t\tlanguage\tn\tdetected\t")
	pk, fk, lk := sortedKeys(byPlace), sortedKeys(byFam), sortedKeys(byLang)
	for i := 0; i < max(len(pk), len(fk), len(lk)); i++ {
		cell := func(keys []string, m map[string]*counts) string {
			if i >= len(keys) {
				return "\t\t"
			}
			c := m[keys[i]]
			return fmt.Sprintf("%s\t%d\t%s", keys[i], c.tp+c.fn, rate(c.tp, c.fn))
		}
		fmt.Fprintf(w, "%s\t\t%s\t\t%s\t\n", cell(pk, byPlace), cell(fk, byFam), cell(lk, byLang))
	}
	w.Flush()
	fmt.Printf("AUC embedded attacks vs harmless evaluation chunks %.4f\n\n", auc(append(append([]scored(nil), harmS...), embS...)))

	// 3b. Dilution: a held-out attack inside one paragraph (no line
	// break) of harmless prose from evaluation chunks, with about n bytes
	// of prose around it.
	var prose []string
	for _, c := range evalDocs {
		if c.Lang == "en" && (c.Kind == "doc" || c.Kind == "man" || c.Kind == "email" || c.Kind == "issue" || c.Kind == "security_writing") {
			if p := strings.Join(strings.Fields(c.Text), " "); len(p) >= 2000 {
				prose = append(prose, p)
			}
		}
	}
	if len(prose) > 0 {
		fmt.Printf("== dilution: %d held-out attacks inside one paragraph of harmless prose (evaluation chunks), result-plane threshold\n", 300)
		fmt.Fprintln(w, "prose bytes around\tn\tdetected\tharmless paragraphs FPR\t")
		dr := rand.New(rand.NewPCG(11, 12))
		da := injection.GenerateAttacks(20261204, 300, true)
		for _, n := range []int{0, 120, 240, 400, 800} {
			var c counts
			for _, a := range da {
				p := prose[dr.IntN(len(prose))]
				at := dr.IntN(len(p) - n)
				before := dr.IntN(n + 1)
				pre, post := wordSlice(p, at, before), wordSlice(p, at+before, n-before)
				c.add(1, score(d, strings.TrimSpace(pre+" "+strings.Join(strings.Fields(a.Text), " ")+" "+post), injection.PlaneResult).Flagged)
				c.add(0, score(d, wordSlice(p, at, n+len(a.Text)), injection.PlaneResult).Flagged)
			}
			fmt.Fprintf(w, "%d\t%d\t%s\t%s\t\n", n, c.tp+c.fn, rate(c.tp, c.fn), rate(c.fp, c.tn))
		}
		w.Flush()
		fmt.Println()
	}

	// 4. NotInject-style harmless prompts with trigger words.
	tb := injection.GenerateTriggerBenign(20261124, 500, true)
	pass := 0
	for _, p := range tb {
		if !score(d, p, injection.PlaneRequest).Flagged {
			pass++
		}
	}
	fmt.Printf("== trigger-word harmless prompts (held-out templates, NotInject-style), request-plane threshold: %d/%d passed (%s; target >= 0.90)\n\n", pass, len(tb), rate(pass, len(tb)-pass))

	// 5. Evasion transforms on held-out positives (the attacker-controlled
	// part only) and on harmless evaluation chunks.
	var pos []string
	for _, a := range injection.GenerateAttacks(20261203, 300, true) {
		pos = append(pos, a.Text)
	}
	for _, rr := range evalPos {
		if len(pos) >= 600 {
			break
		}
		if rr.Attack != "" {
			pos = append(pos, rr.Attack)
		} else if len(rr.Text) < 2000 {
			pos = append(pos, rr.Text)
		}
	}
	neg := make([]string, 0, 300)
	for i := 0; i < len(evalDocs) && len(neg) < 300; i += max(1, len(evalDocs)/300) {
		neg = append(neg, evalDocs[i].Text)
	}
	fmt.Printf("== evasion: each transform applied to %d held-out attacks (held-out templates and excluded sources; attack part only) inside a harmless chunk, and to %d harmless chunks\n", len(pos), len(neg))
	fmt.Fprintln(w, "transform\tTPR\tΔ vs plain\tFPR\t")
	plain := 0.0
	er := rand.New(rand.NewPCG(7, 7))
	for _, t := range injection.Transforms {
		var c counts
		for _, p := range pos {
			doc := evalDocs[er.IntN(len(evalDocs))].Text
			c.add(1, score(d, injection.Embed(clipDoc(doc), t.Apply(p), injection.PlaceMiddle, er), injection.PlaneResult).Flagged)
		}
		for _, n := range neg {
			c.add(0, score(d, t.Apply(n), injection.PlaneResult).Flagged)
		}
		if t.Name == "plain" {
			plain = c.tpr()
		}
		note := ""
		if plain-c.tpr() > 0.05 {
			note = "  (more than 5 points below plain)"
		}
		fmt.Fprintf(w, "%s\t%.3f\t%+.3f\t%s\t%s\n", t.Name, c.tpr(), c.tpr()-plain, rate(c.fp, c.tn), note)
	}
	var c counts
	for _, p := range pos {
		doc := evalDocs[er.IntN(len(evalDocs))].Text
		c.add(1, score(d, injection.Embed(clipDoc(doc), p, injection.PlaceSplitFields, er), injection.PlaneResult).Flagged)
	}
	note := ""
	if plain-c.tpr() > 0.05 {
		note = "  (more than 5 points below plain)"
	}
	fmt.Fprintf(w, "split_across_json_fields\t%.3f\t%+.3f\t-\t%s\n", c.tpr(), c.tpr()-plain, note)
	w.Flush()
	fmt.Println()

	// 6. The gateway's request-plane rule on tool-call arguments.
	return requestPlane(d, evalDocs, rows, argsPath)
}

// wordSlice returns about n bytes of s from offset at, cut at spaces.
func wordSlice(s string, at, n int) string {
	if n <= 0 {
		return ""
	}
	b := min(len(s), at+n)
	for at > 0 && at < len(s) && s[at-1] != ' ' {
		at++
	}
	for b < len(s) && b > at && s[b-1] != ' ' {
		b--
	}
	if b <= at {
		return ""
	}
	return strings.TrimSpace(s[at:b])
}

// clipDoc keeps the evasion suite about the transform, not the context
// length: at most 2 KB of harmless context.
func clipDoc(s string) string {
	if len(s) <= 2048 {
		return s
	}
	i := 2048
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
