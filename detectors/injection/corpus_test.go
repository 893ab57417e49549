package injection

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSplitBySourceAndGroup: excluded public sources are evaluation-only,
// and no harmless group lands on two sides of the split.
func TestSplitBySourceAndGroup(t *testing.T) {
	for src := range EvalSources {
		if got := SplitOfRow(Row{Source: src, Group: "x", Text: "x"}); got != SplitEval {
			t.Errorf("source %s: split %s, want eval", src, got)
		}
	}
	chunks, err := LoadHarmless("corpus/harmless.jsonl.gz", 3000)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 2000 {
		t.Fatalf("only %d chunks loaded", len(chunks))
	}
	side := map[string]string{}
	count := map[string]int{}
	for _, c := range chunks {
		if c.Licence == "" || c.Source == "" || c.Group == "" {
			t.Fatalf("chunk without licence/source/group: %+v", c.Origin)
		}
		if n := len(c.Text); n < 512 || n > 8192 {
			t.Errorf("chunk of %d bytes from %s", n, c.Origin)
		}
		s := SplitOfChunk(c)
		if prev, ok := side[c.Group]; ok && prev != s {
			t.Fatalf("group %s on two sides", c.Group)
		}
		side[c.Group] = s
		count[s]++
	}
	for _, s := range []string{SplitTrain, SplitCalib, SplitEval} {
		if count[s] == 0 {
			t.Errorf("no chunks in split %s", s)
		}
	}
}

func TestFlatten(t *testing.T) {
	tests := []struct {
		name, doc, want string
		paths           []string
	}{
		{"prose leaves in order", `{"id":"a1","title":"Weekly report","body":"All builds passed.","kind":"text"}`,
			"Weekly report\nAll builds passed.", []string{"title", "body"}},
		{"json inside a text block", `{"content":[{"type":"text","text":"{\"items\":[{\"note\":\"please review this\",\"id\":1,\"pad\":\"` + strings.Repeat("ab ", 90) + `\"}]}"}]}`,
			"please review this\n" + strings.Repeat("ab ", 90), []string{"content.0.text>items.0.note", "content.0.text>items.0.pad"}},
		{"small json kept as written", `{"text":"{\"role\": \"system\", \"content\": \"be brief\"}"}`,
			`{"role": "system", "content": "be brief"}`, []string{"text"}},
		{"no prose", `{"a":"x","b":[1,2]}`, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, parts, ok := Flatten([]byte(tc.doc), 0)
			if !ok || got != tc.want {
				t.Fatalf("Flatten = %q, %v; want %q", got, ok, tc.want)
			}
			var paths []string
			for _, p := range parts {
				paths = append(paths, p.Path)
				if got[p.Start:p.End] == "" {
					t.Errorf("empty part %+v", p)
				}
			}
			if strings.Join(paths, ",") != strings.Join(tc.paths, ",") {
				t.Errorf("paths %v, want %v", paths, tc.paths)
			}
		})
	}
	if _, _, ok := Flatten([]byte(`{"a":`), 0); ok {
		t.Error("invalid JSON accepted")
	}
}

// TestEmbedKeepsAttack: every placement leaves the whole attack readable in
// what the detector scores (split fields as consecutive lines).
func TestEmbedKeepsAttack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	doc := "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nSome harmless text about packages.\nAnother line."
	for _, a := range GenerateAttacks(3, 20, false) {
		for _, p := range Placements {
			got := PrepareText(Embed(doc, a.Text, p, r))
			if p == PlaceSplitFields {
				got = strings.ReplaceAll(got, "\n", " ")
			}
			if !strings.Contains(got, a.Text) {
				t.Fatalf("placement %s lost the attack %q in %q", p, a.Text, got)
			}
		}
	}
}

// TestAttackTemplatesSplit: the held-out templates never appear in the
// training draw.
func TestAttackTemplatesSplit(t *testing.T) {
	for _, a := range GenerateAttacks(5, 500, false) {
		if a.Template%4 == 0 {
			t.Fatalf("training draw used held-out template %d", a.Template)
		}
	}
	for _, a := range GenerateAttacks(5, 200, true) {
		if a.Template%4 != 0 {
			t.Fatalf("held-out draw used training template %d", a.Template)
		}
	}
}

func TestPlaneThresholds(t *testing.T) {
	d := Default()
	for _, p := range []Plane{PlaneRequest, PlaneResult} {
		if th := d.Threshold(p); !(th > 0 && th < 1) {
			t.Errorf("%s threshold %v", p, th)
		}
	}
	// The request plane flags a plain override; the result plane does not
	// flag a harmless README line.
	if v := d.Score("## Install\n\nRun make install, then restart the service."); v.Flagged {
		t.Errorf("harmless README flagged: %+v", v)
	}
}

// FuzzFlatten: Flatten never panics, and every part is a non-empty span of
// the text it returns.
func FuzzFlatten(f *testing.F) {
	for _, s := range []string{`{"title":"Weekly report","body":"All builds passed."}`, `{"text":"{\"role\": \"system\"}"}`,
		`{"a":["` + strings.Repeat("x y ", 80) + `",{"b":"{\"c\":\"` + strings.Repeat("z ", 150) + `\"}"}]}`, `[`, `"plain"`, `{"a":"\ud800"}`} {
		f.Add(s, 0)
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, doc string, maxBytes int) {
		text, parts, ok := Flatten([]byte(doc), maxBytes)
		if !ok {
			return
		}
		if maxBytes > 0 && len(text) > maxBytes {
			t.Fatalf("text of %d bytes over the %d bound", len(text), maxBytes)
		}
		prev := 0
		for _, p := range parts {
			if p.Start < prev || p.End > len(text) || p.Start >= p.End {
				t.Fatalf("bad part %+v in %d bytes", p, len(text))
			}
			prev = p.End
		}
	})
}
