// Package golden pins a detector's output over a set of inputs in a small
// text file, for the detector packages' tests: one line per distinct input,
// "<id> <output>", where id is the first 16 hex digits of the input's
// SHA-256. Keying by content rather than position means reordering or
// sampling the inputs differently does not shift every line, and a diff of
// the file after `go test -update` shows exactly which inputs changed.
//
// It replaces frozen copies of old implementations: an intended behaviour
// change is made once, in the code, and reviewed as a golden diff.
package golden

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files from the current code")

// Inputs holds a golden test's inputs, loaded once per test binary: the
// test, its benchmarks and fuzz seeds share them, and loading (decompressing
// the harmless corpus) dominates.
type Inputs struct {
	once sync.Once
	v    []string
}

// Get returns the inputs, calling load the first time.
func (in *Inputs) Get(t testing.TB, load func(testing.TB) []string) []string {
	in.once.Do(func() { in.v = load(t) })
	return in.v
}

// Update reports whether the test binary was run with -update.
func Update() bool { return *update }

// ID is the golden key of an input.
func ID(input string) string {
	h := sha256.Sum256([]byte(input))
	return hex.EncodeToString(h[:8])
}

// Excerpt quotes at most n bytes of s, for readable golden lines.
func Excerpt(s string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("%q…", s[:n])
	}
	return fmt.Sprintf("%q", s)
}

// Hash is a short digest of a long output.
func Hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:12])
}

// Span is one finding of a detector: a label (entity type, rule, category),
// a byte span into the input and a score.
type Span struct {
	Label      string
	Start, End int
	Score      float64
}

// Spans is the canonical golden output of a detector's findings in s: each
// as label, byte span, score and the spanned text (abridged), separated by
// " | ", or "-" for none.
func Spans(s string, spans []Span) string {
	if len(spans) == 0 {
		return "-"
	}
	parts := make([]string, len(spans))
	for i, sp := range spans {
		text := ""
		if 0 <= sp.Start && sp.Start <= sp.End && sp.End <= len(s) {
			text = Excerpt(s[sp.Start:sp.End], 40)
		}
		parts[i] = fmt.Sprintf("%s %d-%d %s %s", sp.Label, sp.Start, sp.End, strconv.FormatFloat(sp.Score, 'g', -1, 64), text)
	}
	return strings.Join(parts, " | ")
}

// InShort reports whether the i-th input of a large corpus is kept under
// -short: every 8th, so a -short run checks a subset of the golden's inputs.
func InShort(i int) bool { return !testing.Short() || i%8 == 0 }

// Lines computes the golden lines of inputs (first occurrence order,
// duplicates dropped). out must be single-line.
func Lines(inputs []string, out func(string) string) ([]string, map[string]string) {
	var order []string
	got := make(map[string]string, len(inputs))
	for _, in := range inputs {
		id := ID(in)
		if _, ok := got[id]; ok {
			continue
		}
		got[id] = strings.ReplaceAll(out(in), "\n", `\n`)
		order = append(order, id)
	}
	return order, got
}

// Write writes the golden file of inputs to path.
func Write(path string, inputs []string, out func(string) string) error {
	order, got := Lines(inputs, out)
	var b strings.Builder
	for _, id := range order {
		b.WriteString(id)
		b.WriteByte(' ')
		b.WriteString(got[id])
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write golden %s: %w", path, err)
	}
	return nil
}

// Read parses a golden file into id -> output.
func Read(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open golden (run the test with -update to create it): %w", err)
	}
	defer f.Close()
	m := make(map[string]string)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		id, out, ok := strings.Cut(sc.Text(), " ")
		if !ok || len(id) != 16 {
			return nil, fmt.Errorf("%s:%d: malformed golden line", path, n)
		}
		m[id] = out
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read golden %s: %w", path, err)
	}
	return m, nil
}

// Check compares out over inputs with the golden file at path (rewriting it
// first under -update). Every input must have a line with equal output;
// with complete (the full input set, not a -short sample) every line must
// also belong to an input, so stale lines do not linger.
func Check(t testing.TB, path string, inputs []string, complete bool, out func(string) string) {
	t.Helper()
	if *update {
		if err := Write(path, inputs, out); err != nil {
			t.Fatal(err)
		}
	}
	want, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	order, got := Lines(inputs, out)
	byID := make(map[string]string, len(inputs))
	for _, in := range inputs {
		byID[ID(in)] = in
	}
	var bad []string
	missing, differ := 0, 0
	for _, id := range order {
		w, ok := want[id]
		switch {
		case !ok:
			missing++
			if missing <= 5 {
				bad = append(bad, fmt.Sprintf("input %s %s not in golden", id, Excerpt(byID[id], 80)))
			}
		case w != got[id]:
			differ++
			bad = append(bad, fmt.Sprintf("input %s %s:\n  got  %s\n  want %s", id, Excerpt(byID[id], 200), got[id], w))
		}
	}
	stale := 0
	if complete {
		for id := range want {
			if _, ok := got[id]; !ok {
				stale++
			}
		}
	}
	if len(bad) > 0 || missing > 0 || stale > 0 {
		if len(bad) > 10 {
			bad = bad[:10]
		}
		t.Fatalf("%s: %d of %d inputs differ, %d missing, %d stale lines; if intended, rerun with -update and review the diff:\n%s",
			path, differ, len(order), missing, stale, strings.Join(bad, "\n"))
	}
	if len(order) == 0 {
		t.Fatal("no inputs")
	}
}
