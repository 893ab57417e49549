package normalize_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portcullis-mcp/portcullis/detectors/normalize"
)

var allSignals = []string{normalize.SigInvisible, normalize.SigBidi, normalize.SigTags, normalize.SigVariation,
	normalize.SigConfusables, normalize.SigLeet, normalize.SigSpacedOut, normalize.SigInvalidUTF8, normalize.SigBase64,
	normalize.SigBase32, normalize.SigHex, normalize.SigURL, normalize.SigHTML, normalize.SigQP, normalize.SigRot13,
	normalize.SigReversed}

// foldingSignals are raised by folding, so Inspect does not report them.
var foldingSignals = []string{normalize.SigConfusables, normalize.SigLeet, normalize.SigSpacedOut}

// checkInvariants: properties of the views that hold for any input and need
// no second implementation.
func checkInvariants(t *testing.T, s string) {
	t.Helper()
	v := normalize.Normalize(s)
	if v.Original != s {
		t.Fatalf("Normalize(%.200q): Original changed", s)
	}
	// Fold is the folding of Normalize alone. (Folding is not idempotent:
	// "a 1 2 3" joins to "a123", which a second fold maps as leetspeak.)
	if f := normalize.Fold(s); f != v.Folded {
		t.Fatalf("Fold(%.200q) = %.200q, Normalize folded %.200q", s, f, v.Folded)
	}
	// Derived forms are valid UTF-8; Despaced is Folded minus separators.
	if !utf8.ValidString(v.Folded) || !utf8.ValidString(v.Despaced) || !subsequence(v.Despaced, v.Folded) {
		t.Fatalf("Normalize(%.200q): folded %.200q, despaced %.200q", s, v.Folded, v.Despaced)
	}
	// Decodings are bounded and folded.
	total := 0
	for _, d := range v.Decoded {
		total += len(d)
		if !utf8.ValidString(d) {
			t.Fatalf("Normalize(%.200q): invalid UTF-8 decoding %.200q", s, d)
		}
	}
	if len(v.Decoded) > normalize.MaxDecoded || total > normalize.MaxDecodedBytes {
		t.Fatalf("Normalize(%.200q): %d decodings, %d bytes", s, len(v.Decoded), total)
	}
	// Signals are known and listed once each.
	for i, sig := range v.Signals {
		if !slices.Contains(allSignals, sig) || slices.Contains(v.Signals[:i], sig) {
			t.Fatalf("Normalize(%.200q): signals %q", s, v.Signals)
		}
	}
	// Inspect is the view without folding or the folding signals.
	var sigs []string
	for _, sig := range v.Signals {
		if !slices.Contains(foldingSignals, sig) {
			sigs = append(sigs, sig)
		}
	}
	in := normalize.Inspect(s)
	if in.Original != s || in.Folded != "" || in.Despaced != "" || in.Invisible != v.Invisible ||
		!reflect.DeepEqual(in.Decoded, v.Decoded) || !reflect.DeepEqual(in.Signals, sigs) {
		t.Fatalf("Inspect(%.200q) = %+v, want the view %+v without folding", s, *in, *v)
	}
	// Pooled scratch does not leak between calls.
	normalize.Normalize("=49=47=4E=4F=52=45 ＩＧＮＯＲＥ i g n o r e " + strings.Repeat("QUJD", 20))
	if again := normalize.Normalize(s); !reflect.DeepEqual(again, v) {
		t.Fatalf("Normalize(%.200q) = %+v, then %+v", s, *v, *again)
	}
}

// subsequence reports whether a's bytes appear in b in order.
func subsequence(a, b string) bool {
	i := 0
	for j := 0; i < len(a) && j < len(b); j++ {
		if a[i] == b[j] {
			i++
		}
	}
	return i == len(a)
}

// TestViewInvariantsOnCorpus: the invariants hold on the golden inputs.
func TestViewInvariantsOnCorpus(t *testing.T) {
	for _, s := range edgeInputs {
		checkInvariants(t, s)
	}
	for _, s := range goldenCorpus(t) {
		checkInvariants(t, s)
	}
}

func FuzzViewInvariants(f *testing.F) {
	for _, s := range edgeInputs {
		f.Add(s)
	}
	f.Fuzz(checkInvariants)
}
