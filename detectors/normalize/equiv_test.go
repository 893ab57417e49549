package normalize_test

import (
	"reflect"
	"os"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
	"github.com/portcullis-mcp/portcullis/detectors/normalize"
	"github.com/portcullis-mcp/portcullis/detectors/normalize/internal/normref"
)

// The optimised normaliser must return exactly the views of the frozen
// reference (normref, the code before the speed work): the injection model
// is trained on these views, so any drift changes scores.

func checkEquiv(t *testing.T, s string) {
	t.Helper()
	got, want := normalize.Normalize(s), normref.Normalize(s)
	if got.Original != want.Original || got.Folded != want.Folded || got.Despaced != want.Despaced ||
		got.Invisible != want.Invisible || !reflect.DeepEqual(got.Decoded, want.Decoded) || !reflect.DeepEqual(got.Signals, want.Signals) {
		t.Fatalf("view of %.200q differs:\n got %+v\nwant %+v", s, *got, *want)
	}
	in := normalize.Inspect(s)
	var foldSigs []string
	for _, sig := range want.Signals {
		if sig != normalize.SigConfusables && sig != normalize.SigLeet && sig != normalize.SigSpacedOut {
			foldSigs = append(foldSigs, sig)
		}
	}
	if in.Original != s || in.Folded != "" || in.Despaced != "" || in.Invisible != want.Invisible ||
		!reflect.DeepEqual(in.Decoded, want.Decoded) || !reflect.DeepEqual(in.Signals, foldSigs) {
		t.Fatalf("Inspect(%.200q) = %+v, want the view %+v without folding", s, *in, *want)
	}
	if g, w := normalize.Fold(s), normref.Fold(s); g != w {
		t.Fatalf("Fold(%.200q) = %.200q, want %.200q", s, g, w)
	}
}

func TestEquivalentToReference(t *testing.T) {
	for _, s := range edgeInputs {
		checkEquiv(t, s)
	}
	for _, s := range goldenCorpus(t) {
		checkEquiv(t, s)
	}
}

func TestDecodersEquivalentToReference(t *testing.T) {
	type dec func(string) (string, bool)
	pairs := []struct {
		name      string
		got, want dec
	}{
		{"url", normalize.DecodeURL, normref.DecodeURL},
		{"qp", normalize.DecodeQP, normref.DecodeQP},
		{"html", normalize.DecodeHTML, normref.DecodeHTML},
		{"rot13", normalize.DecodeRot13, normref.DecodeRot13},
		{"reversed", normalize.DecodeReversed, normref.DecodeReversed},
	}
	for _, s := range append(edgeInputs, goldenCorpus(t)[:500]...) {
		for _, p := range pairs {
			g, gok := p.got(s)
			w, wok := p.want(s)
			if g != w || gok != wok {
				t.Fatalf("%s(%.100q) = %.100q,%v want %.100q,%v", p.name, s, g, gok, w, wok)
			}
		}
		if g, w := normalize.Base64Runs(s), normref.Base64Runs(s); !reflect.DeepEqual(g, w) {
			t.Fatalf("Base64Runs(%.100q) = %q want %q", s, g, w)
		}
		if g, w := normalize.Printable(s), normref.Printable(s); g != w {
			t.Fatalf("Printable(%.100q) = %v want %v", s, g, w)
		}
	}
}

func FuzzEquivalentToReference(f *testing.F) {
	for _, s := range edgeInputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkEquiv(t, s) })
}


func TestWriteGoldenFromReference(t *testing.T) {
	if os.Getenv("GOLDEN_FROM_REF") == "" {
		t.Skip()
	}
	conv := func(f func(string) *normref.View) func(string) *normalize.View {
		return func(s string) *normalize.View {
			v := f(s)
			return &normalize.View{Original: v.Original, Folded: v.Folded, Despaced: v.Despaced, Decoded: v.Decoded, Invisible: v.Invisible, Signals: v.Signals}
		}
	}
	// The reference has no Inspect: Inspect is specified as Normalize's
	// view without folding or the folding signals (checkEquiv).
	inspect := func(s string) *normalize.View {
		v := conv(normref.Normalize)(s)
		var sigs []string
		for _, sig := range v.Signals {
			if sig != normalize.SigConfusables && sig != normalize.SigLeet && sig != normalize.SigSpacedOut {
				sigs = append(sigs, sig)
			}
		}
		return &normalize.View{Original: s, Decoded: v.Decoded, Invisible: v.Invisible, Signals: sigs}
	}
	ref := viewAPI{conv(normref.Normalize), inspect, normref.Fold,
		normref.DecodeURL, normref.DecodeQP, normref.DecodeHTML, normref.DecodeRot13, normref.DecodeReversed,
		normref.Base64Runs, normref.Printable}
	texts := append(append([]string(nil), edgeInputs...), goldenCorpus(t)...)
	if err := golden.Write(corpusGoldenPath, texts, viewLine(ref)); err != nil {
		t.Fatal(err)
	}
}
