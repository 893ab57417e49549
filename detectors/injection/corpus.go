package injection

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"

	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
)

// Chunk is one harmless tool output of the committed corpus
// (corpus/harmless.jsonl.gz, built by scripts/build-harmless-corpus.py).
type Chunk struct {
	Text    string `json:"text"`
	Kind    string `json:"kind"`   // doc, licence, man, html, code, pkgmeta, json_api, table, log, config, email, issue, chat, security_writing
	Source  string `json:"source"` // corpus part, e.g. "man-de", "go-stdlib"
	Group   string `json:"group"`  // split unit: package, module or directory
	Lang    string `json:"lang"`
	Licence string `json:"licence"`
	Origin  string `json:"origin"`
}

// Default corpus paths, relative to the repository root.
const (
	DefaultHarmlessPath = "detectors/injection/corpus/harmless.jsonl.gz"
	DefaultDevPath      = "detectors/injection/corpus/dev.jsonl.gz"
)

// openMaybeGzip opens path, transparently decompressing a .gz file.
func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// LoadHarmless reads the harmless corpus (JSON lines, optionally gzipped).
// limit > 0 keeps every k-th chunk so that about limit remain (tests).
func LoadHarmless(path string, limit int) ([]Chunk, error) {
	rc, err := openMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("open harmless corpus: %w", err)
	}
	defer rc.Close()
	var out []Chunk
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for ln := 1; sc.Scan(); ln++ {
		var c Chunk
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("harmless corpus line %d: %w", ln, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read harmless corpus: %w", err)
	}
	if limit > 0 && len(out) > limit {
		step := len(out) / limit
		k := 0
		for i := 0; i < len(out); i += step {
			out[k] = out[i]
			k++
		}
		out = out[:k]
	}
	return out, nil
}

// EvalSources are public dev sources excluded from training, calibration,
// threshold choice and rule tuning: `make eval` reports on them as sources
// the detector never saw. Every other dev source may be used for training.
var EvalSources = map[string]bool{
	"deepset_train":        true,
	"piguard_valid":        true,
	"garak_dan":            true,
	"bipia_email_clean":    true,
	"bipia_email_injected": true,
}

// SplitOfRow assigns a dev row: excluded sources go to eval whole; rows of
// training sources are split by group (the inserted attack for BIPIA, else
// the text) into calibration (10%) and training.
func SplitOfRow(r Row) string {
	if EvalSources[r.Source] {
		return SplitEval
	}
	if bucket("dev", r.Group)%10 == 0 {
		return SplitCalib
	}
	return SplitTrain
}

// SplitOfChunk assigns a harmless chunk by its group (package, module,
// directory): 30% eval, 10% calibration, 60% training. No group is on two
// sides, so eval text never shares a package with training text.
func SplitOfChunk(c Chunk) string {
	switch b := bucket("harmless", c.Group) % 10; {
	case b < 3:
		return SplitEval
	case b == 3:
		return SplitCalib
	}
	return SplitTrain
}

func bucket(ns, key string) uint32 {
	h := fnv.New32a()
	_, _ = io.WriteString(h, ns)
	_, _ = io.WriteString(h, "\x00")
	_, _ = io.WriteString(h, key)
	return h.Sum32()
}

// Part maps a line of a flattened document back to the JSON leaf it came
// from: bytes [Start, End) of the flattened text.
type Part struct {
	Path       string
	Start, End int
}

// maxFlattenDepth bounds JSON-in-a-string expansion (a tool result whose
// text is itself a JSON document).
const maxFlattenDepth = 2

// minExpand is the smallest JSON-in-a-string that is expanded.
const minExpand = 256

// Flatten returns the text the injection layers score for a JSON document:
// its prose-like string leaves in document order, one per line, so that an
// instruction split across consecutive fields is one text and each field is
// a line. A string leaf that holds a JSON document (of at least minExpand
// bytes) is expanded in place.
// maxBytes bounds the output (0 = no bound). ok is false when raw is not
// valid JSON.
func Flatten(raw []byte, maxBytes int) (text string, parts []Part, ok bool) {
	res, err := jsonwalk.Walk(raw, jsonwalk.Limits{MaxBytes: 8 << 20, MaxDepth: 64, MaxLeaves: 20000})
	if err != nil {
		return "", nil, false
	}
	var b strings.Builder
	parts = FlattenLeaves(&b, res.Leaves, "", maxBytes, 0, parts)
	return b.String(), parts, true
}

// FlattenLeaves appends the prose-like leaves to b (see Flatten) and
// returns the parts; prefix is prepended to every path.
func FlattenLeaves(b *strings.Builder, leaves []jsonwalk.Leaf, prefix string, maxBytes, depth int, parts []Part) []Part {
	for _, l := range leaves {
		v := l.Value
		if !Prose(v) {
			continue
		}
		need := len(v)
		if b.Len() > 0 {
			need++ // the line break
		}
		if maxBytes > 0 && b.Len()+need > maxBytes {
			break
		}
		// A small JSON value is kept as written: its structure ("role":
		// "system") is the signal. A document-sized one is expanded.
		if depth < maxFlattenDepth && len(v) >= minExpand && LooksLikeJSON(v) {
			if res, err := jsonwalk.Walk([]byte(v), jsonwalk.Limits{MaxBytes: len(v) + 1, MaxDepth: 64, MaxLeaves: 20000}); err == nil {
				parts = FlattenLeaves(b, res.Leaves, prefix+l.Path+">", maxBytes, depth+1, parts)
				continue
			}
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		st := b.Len()
		b.WriteString(v)
		parts = append(parts, Part{Path: prefix + l.Path, Start: st, End: b.Len()})
	}
	return parts
}

// Prose reports whether a leaf may carry an instruction: it contains a
// space or is at least 8 bytes long (enum-like values such as "text" or
// "image/png" do not).
func Prose(s string) bool {
	return len(s) >= 8 || strings.IndexByte(s, ' ') >= 0
}

// LooksLikeJSON reports whether s starts (after spaces) with '{' or '['
// and ends with the matching bracket.
func LooksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 2 && ((s[0] == '{' && s[len(s)-1] == '}') || (s[0] == '[' && s[len(s)-1] == ']'))
}

// PrepareText returns what the detector scores for a tool output: the
// flattened leaves when the text is a JSON document, else the text.
func PrepareText(s string) string {
	if LooksLikeJSON(s) {
		if t, _, ok := Flatten([]byte(s), 0); ok {
			return t
		}
	}
	return s
}
