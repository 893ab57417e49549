// Command genletters builds detectors/normalize/letters.bin, the letter
// trigram table the normaliser uses to recognise rot13 and reversed lines in
// any Latin-script language, from the training side of the harmless corpus
// only (injection.SplitOfChunk == train): evaluation and calibration groups
// take no part. It then reports, on the calibration groups, how often a
// harmless line would be decoded by mistake and how often its rot13 and
// reversed forms are recognised (the numbers behind the margins in
// normalize/letters.go). Deterministic: the same corpus gives the same bytes.
//
//	go run ./detectors/injection/genletters [-harmless PATH] [-out PATH]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

func main() {
	if err := Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genletters:", err)
		os.Exit(1)
	}
}

// latin are the corpus languages written in the Latin alphabet: the table
// mixes them with equal weight, so English (most of the corpus) does not
// drown the others.
var latin = []string{"cs", "da", "de", "en", "es", "fi", "fr", "hr", "hu", "id", "it", "nl", "pl", "pt", "ro", "sl", "sv", "tr"}

// minTrigrams is the fewest trigrams a language needs to take part.
const minTrigrams = 2000

// Main is the testable entry point.
func Main(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("genletters", flag.ContinueOnError)
	harmless := fs.String("harmless", injection.DefaultHarmlessPath, "harmless corpus (JSON lines, gzipped)")
	out := fs.String("out", "detectors/normalize/letters.bin", "output table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	chunks, err := injection.LoadHarmless(*harmless, 0)
	if err != nil {
		return err
	}
	counts := map[string][]float64{}
	var calib []injection.Chunk
	for _, c := range chunks {
		switch injection.SplitOfChunk(c) {
		case injection.SplitCalib:
			calib = append(calib, c)
			continue
		case injection.SplitTrain:
		default:
			continue
		}
		if !slices.Contains(latin, c.Lang) {
			continue
		}
		t := counts[c.Lang]
		if t == nil {
			t = make([]float64, normalize.LetterTrigrams)
			counts[c.Lang] = t
		}
		for line := range strings.SplitSeq(c.Text, "\n") {
			normalize.EachLetterTrigram(line, func(i int) { t[i]++ })
		}
	}
	mix := make([]float64, normalize.LetterTrigrams)
	langs := 0
	for _, lang := range latin { // fixed order: the sums are identical on every run
		t := counts[lang]
		total := 0.0
		for _, x := range t {
			total += x
		}
		if total < minTrigrams {
			continue
		}
		langs++
		for i, x := range t {
			mix[i] += x / total
		}
	}
	if langs == 0 {
		return errors.New("no Latin-script training text in the corpus")
	}
	table := make([]byte, normalize.LetterTrigrams)
	for i, x := range mix {
		// log-probability in eighths of a nat, floored at -127
		q := math.Round(math.Log(x/float64(langs)+1e-7) * 8)
		table[i] = byte(int8(max(-127, min(0, q))))
	}
	if err := os.WriteFile(*out, table, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d bytes from %d languages of the training groups\n", *out, len(table), langs)
	return report(stdout, table, calib)
}

// report prints, on the calibration groups' lines, what the committed
// margins do with the new table.
func report(w io.Writer, table []byte, calib []injection.Chunk) error {
	lm := normalize.NewLetterModel(table)
	var lines, rotFP, revFP, rotDet, revDet int
	byKind := map[string]int{}
	for _, c := range calib {
		for line := range strings.SplitSeq(c.Text, "\n") {
			if !lm.Scorable(line) {
				continue
			}
			lines++
			rot, rev := lm.Line(line)
			if rot {
				rotFP++
				byKind["rot13/"+c.Kind]++
			}
			if rev {
				revFP++
				byKind["reversed/"+c.Kind]++
			}
			if r, _ := lm.Line(rot13(line)); r {
				rotDet++
			}
			if _, v := lm.Line(reverse(line)); v {
				revDet++
			}
		}
	}
	if lines == 0 {
		return errors.New("no scorable calibration lines")
	}
	pct := func(n int) string { return fmt.Sprintf("%d (%.2f%%)", n, 100*float64(n)/float64(lines)) }
	fmt.Fprintf(w, "calibration groups, %d harmless lines with at least %d letter trigrams:\n", lines, normalize.MinLetterTrigrams)
	fmt.Fprintf(w, "  harmless lines taken for rot13:    %s\n  harmless lines taken for reversed: %s\n", pct(rotFP), pct(revFP))
	fmt.Fprintf(w, "  their rot13 recognised:            %s\n  their reversal recognised:         %s\n", pct(rotDet), pct(revDet))
	keys := make([]string, 0, len(byKind))
	for k := range byKind {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  false %s: %d\n", k, byKind[k])
	}
	return nil
}

func rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}
