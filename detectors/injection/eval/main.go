// Command eval prints the prompt-injection quality tables (make
// eval-injection): per-source TPR/FPR, AUC and balanced accuracy on the
// held-out split of the dev data, FPR on benign tool-result text (generated
// with an unseen seed, plus presidio sentences), and per-transform TPR/FPR on
// the generated evasion suite.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
)

func main() {
	data := flag.String("data", "../shared/data/injection/dev.jsonl", "injection dev data")
	pii := flag.String("pii", "../shared/data/pii/dev.jsonl", "presidio sentences (benign tool text)")
	evasionN := flag.Int("evasion", 400, "positives and negatives per transform")
	modelPath := flag.String("model", "", "weights file to evaluate instead of the embedded model")
	flag.Parse()
	d := injection.Default()
	if *modelPath != "" {
		b, err := os.ReadFile(*modelPath)
		if err == nil {
			d, err = injection.New(b)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "eval:", err)
			os.Exit(1)
		}
	}
	if err := run(d, *data, *pii, *evasionN); err != nil {
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

func (c counts) balanced() float64 {
	tpr := float64(c.tp) / float64(max(1, c.tp+c.fn))
	tnr := float64(c.tn) / float64(max(1, c.tn+c.fp))
	return (tpr + tnr) / 2
}

// auc is the Mann-Whitney AUC with ties counted half.
func auc(xs []scored) float64 {
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

func run(d *injection.Detector, dataPath, piiPath string, evasionN int) error {
	rows, err := injection.LoadDev(dataPath)
	if err != nil {
		return err
	}
	var eval []injection.Row
	for _, r := range rows {
		if injection.SplitOf(r.Group) == injection.SplitEval {
			eval = append(eval, r)
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Println("== held-out split of dev data (20% by hash of text / inserted attack), threshold", injection.Threshold)
	fmt.Fprintln(w, "source\tkind\tn\tpos\tTPR\tFPR\t")
	bySource := map[string]*counts{}
	kinds := map[string]string{}
	var all, direct, tool counts
	var xs []scored
	for _, r := range eval {
		v := d.Score(r.Text)
		c := bySource[r.Source]
		if c == nil {
			c = &counts{}
			bySource[r.Source] = c
		}
		kinds[r.Source] = r.Kind
		c.add(r.Label, v.Flagged)
		all.add(r.Label, v.Flagged)
		if r.Kind == "direct" {
			direct.add(r.Label, v.Flagged)
		} else {
			tool.add(r.Label, v.Flagged)
		}
		xs = append(xs, scored{v.Score, r.Label})
	}
	srcs := make([]string, 0, len(bySource))
	for s := range bySource {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		c := bySource[s]
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t\n", s, kinds[s], c.tp+c.fn+c.fp+c.tn, c.tp+c.fn, rate(c.tp, c.fn), rate(c.fp, c.tn))
	}
	for _, x := range []struct {
		name string
		c    counts
	}{{"ALL", all}, {"direct", direct}, {"tool_result", tool}} {
		fmt.Fprintf(w, "%s\t\t%d\t%d\t%s\t%s\t\n", x.name, x.c.tp+x.c.fn+x.c.fp+x.c.tn, x.c.tp+x.c.fn, rate(x.c.tp, x.c.fn), rate(x.c.fp, x.c.tn))
	}
	w.Flush()
	fmt.Printf("AUC %.4f   balanced accuracy %.4f (direct %.4f, tool_result %.4f)   target >= 0.92\n", auc(xs), all.balanced(), direct.balanced(), tool.balanced())
	fmt.Print("operating points (threshold: TPR/FPR/balanced):")
	for _, th := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9} {
		var c counts
		for _, x := range xs {
			c.add(x.label, x.score >= th)
		}
		fmt.Printf("  %.1f: %s/%s/%.3f", th, rate(c.tp, c.fn), rate(c.fp, c.tn), c.balanced())
	}
	fmt.Print("\n\n")

	// Benign tool-result text.
	fmt.Println("== FPR on benign text (target <= 0.01 on tool-result slices; the trigger-word slice is user-style prompts)")
	fmt.Fprintln(w, "slice\tn\tFP\tFPR\t")
	gen := injection.GenerateBenign(20261124, 2000) // seed unseen in training
	fp := 0
	for _, g := range gen {
		if d.Score(g).Flagged {
			fp++
		}
	}
	fmt.Fprintf(w, "generated tool outputs (unseen seed)\t%d\t%d\t%s\t\n", len(gen), fp, rate(fp, len(gen)-fp))
	pres, err := presidio(piiPath)
	if err != nil {
		return err
	}
	pfp := 0
	for _, p := range pres {
		if d.Score(p).Flagged {
			pfp++
		}
	}
	tb := injection.GenerateTriggerBenign(20261124, 500, true) // templates never used in training
	tfp := 0
	for _, p := range tb {
		if d.Score(p).Flagged {
			tfp++
		}
	}
	fmt.Fprintf(w, "trigger-word benign prompts (held-out templates, NotInject-style)\t%d\t%d\t%s\t\n", len(tb), tfp, rate(tfp, len(tb)-tfp))
	fmt.Fprintf(w, "presidio sentences (pii/dev.jsonl)\t%d\t%d\t%s\t\n", len(pres), pfp, rate(pfp, len(pres)-pfp))
	bfp, bn := 0, 0
	for _, r := range eval {
		if r.Label == 0 && r.Kind == "tool_result" {
			bn++
			if d.Score(r.Text).Flagged {
				bfp++
			}
		}
	}
	fmt.Fprintf(w, "held-out benign tool_result rows (BIPIA clean, presidio_synth)\t%d\t%d\t%s\t\n", bn, bfp, rate(bfp, bn-bfp))
	w.Flush()
	fmt.Println()

	// Evasion suite.
	var pos, neg []injection.Row
	for _, r := range eval {
		if r.Label == 1 && len(pos) < evasionN {
			pos = append(pos, r)
		} else if r.Label == 0 && len(neg) < evasionN {
			neg = append(neg, r)
		}
	}
	fmt.Printf("== evasion suite: each transform applied to %d held-out positives (attack part only for BIPIA) and %d negatives\n", len(pos), len(neg))
	fmt.Fprintln(w, "transform\tTPR\tΔ vs plain\tFPR\t")
	plain := 0.0
	for _, t := range injection.Transforms {
		var c counts
		for _, r := range pos {
			c.add(1, d.Score(injection.ApplyToRow(t, r)).Flagged)
		}
		for _, r := range neg {
			c.add(0, d.Score(t.Apply(r.Text)).Flagged)
		}
		tpr := float64(c.tp) / float64(max(1, c.tp+c.fn))
		if t.Name == "plain" {
			plain = tpr
		}
		flag := ""
		if plain-tpr > 0.05 {
			flag = "  (more than 5 points below plain)"
		}
		fmt.Fprintf(w, "%s\t%.3f\t%+.3f\t%s\t%s\n", t.Name, tpr, tpr-plain, rate(c.fp, c.tn), flag)
	}
	w.Flush()
	return nil
}

func presidio(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open presidio data: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r struct {
			FullText string `json:"full_text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("presidio data: %w", err)
		}
		if strings.TrimSpace(r.FullText) != "" {
			out = append(out, r.FullText)
		}
	}
	return out, sc.Err()
}
