package detectors

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
	"github.com/portcullis-mcp/portcullis/detectors/redact"
)

// splitCase is a document and the parts a cross-leaf match must cover:
// "path=part" for each leaf holding a part of the value.
type splitCase struct {
	name, doc, category string
	parts               []string
}

var splitCases = []splitCase{
	{"card in two fields", `{"card_first":"4111 1111","card_last":"1111 1111"}`, "CREDIT_CARD",
		[]string{"card_first=4111 1111", "card_last=1111 1111"}},
	{"card in two fields, no spaces", `{"a":"41111111","b":"11111111"}`, "CREDIT_CARD", []string{"a=41111111", "b=11111111"}},
	{"card in array elements", `{"n":["4111","1111","1111","1111"]}`, "CREDIT_CARD",
		[]string{"n.0=4111", "n.1=1111", "n.2=1111", "n.3=1111"}},
	{"card split mid-group with dashes", `{"x":"5500-0000-00","y":"00-0004"}`, "CREDIT_CARD", []string{"x=5500-0000-00", "y=00-0004"}},
	{"SSN 3-2-4 across three fields", `{"area":"372","group":"18","serial":"4421"}`, "US_SSN",
		[]string{"area=372", "group=18", "serial=4421"}},
	{"SSN with its own dash", `{"a":"372-18","b":"4421"}`, "US_SSN", []string{"a=372-18", "b=4421"}},
	{"IBAN in two fields", `{"i1":"DE89 3704 0044","i2":"0532 0130 00"}`, "IBAN_CODE", []string{"i1=DE89 3704 0044", "i2=0532 0130 00"}},
	{"IBAN split off its groups", `{"i1":"GB82WES","i2":"T12345698765432"}`, "IBAN_CODE", []string{"i1=GB82WES", "i2=T12345698765432"}},
	{"card part after a label", `{"a":"card: 4111 1111","b":"1111 1111"}`, "CREDIT_CARD", []string{"a=4111 1111", "b=1111 1111"}},
	{"AWS key in two fields", `{"k1":"AKIAZ7QW3RTY","k2":"5UIOXPLK"}`, "aws-access-token", []string{"k1=AKIAZ7QW3RTY", "k2=5UIOXPLK"}},
	{"GitHub token in three array elements", `["ghp_aB3dE5fG7h","J9kL1mN3pQ5rS7t","U9vW1xY3zA5"]`, "github-pat",
		[]string{"0=ghp_aB3dE5fG7h", "1=J9kL1mN3pQ5rS7t", "2=U9vW1xY3zA5"}},
}

// TestSplitValues: a card, SSN, IBAN or token split across adjacent sibling
// leaves is found in every leaf that holds a part.
func TestSplitValues(t *testing.T) {
	e := newTestEngine(t, Options{})
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := e.ScanJSON([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				if f.Category == tc.category {
					got = append(got, f.Path+"="+f.Value)
				}
			}
			if !reflect.DeepEqual(got, tc.parts) {
				t.Fatalf("findings %q, want %q (all: %+v)", got, tc.parts, rep.Findings)
			}
		})
	}
}

// TestSplitHarmless: short siblings that do not join into a valid value
// stay harmless (checksums, shapes and siblinghood are required).
func TestSplitHarmless(t *testing.T) {
	e := newTestEngine(t, Options{})
	for _, doc := range []string{
		`{"a":"1234","b":"5678"}`,                              // two unrelated 4-digit numbers
		`{"a":"4111 1111","b":"1111 1112"}`,                    // card-shaped, fails Luhn
		`{"area":"000","group":"18","serial":"4421"}`,          // SSN area 000 is never issued
		`{"from":"2024-01-01","to":"2024-12-31","n":"5"}`,      // dates
		`{"v":"1.2.3","w":"4.5.6","x":"7.8.9","y":"10.11.12"}`, // versions
		`{"a":"4111 1111","b":{"c":"1111 1111"}}`,              // not siblings
		`{"a":"4111 1111","b":"a long sentence that is not part of any number 1111 1111 and more words"}`,
		`{"ids":["4111","1111"],"more":["1111","1111"]}`, // parts in different arrays
		`{"a":"GB82WES","b":"T12345698765433"}`,          // IBAN checksum fails
		`{"a":"AKIAZ7QW","b":"hello world"}`,             // no token across
		string(shortFieldsDoc(16 << 10)),                 // order records: ids, SKUs, amounts, dates
	} {
		rep, err := e.ScanJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings {
			if f.Detector == DetPII || f.Detector == DetSecret {
				t.Errorf("%s: unexpected %s %s at %s %q", doc, f.Detector, f.Category, f.Path, f.Value)
			}
		}
	}
}

// TestSplitRedaction: redaction rewrites every part, RedactReport (from the
// scan) and RedactJSON (detecting again) agree, and restore brings the
// document back.
func TestSplitRedaction(t *testing.T) {
	e := newTestEngine(t, Options{})
	for _, tc := range splitCases {
		for _, mode := range []redact.Mode{redact.Mask, redact.Hash, redact.Synthetic} {
			v1 := redact.NewVault(redact.VaultOptions{Key: []byte("k")})
			v2 := redact.NewVault(redact.VaultOptions{Key: []byte("k")})
			want, wantF, err := e.RedactJSON([]byte(tc.doc), mode, v1)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := e.ScanJSON([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			got, gotF, err := e.RedactReport([]byte(tc.doc), rep, mode, v2)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) || !reflect.DeepEqual(gotF, wantF) {
				t.Fatalf("%s/%s: RedactReport %s %+v, RedactJSON %s %+v", tc.name, mode, got, gotF, want, wantF)
			}
			if !json.Valid(got) {
				t.Fatalf("%s/%s: invalid JSON %s", tc.name, mode, got)
			}
			for _, p := range tc.parts {
				_, part, _ := strings.Cut(p, "=")
				if strings.Contains(string(got), `"`+part+`"`) || strings.Contains(string(got), part+`"`) {
					t.Errorf("%s/%s: part %q survived: %s", tc.name, mode, part, got)
				}
			}
			var paths []string
			for _, f := range gotF {
				paths = append(paths, f.Path+"="+f.Value)
			}
			for _, p := range tc.parts {
				if !slices.Contains(paths, p) {
					t.Errorf("%s/%s: part %s not redacted (redacted %q)", tc.name, mode, p, paths)
				}
			}
			back, _, err := v2.RestoreJSON(got)
			if err != nil {
				t.Fatal(err)
			}
			if mode != redact.Hash && string(back) != tc.doc {
				t.Errorf("%s/%s: restore gave %s, want %s", tc.name, mode, back, tc.doc)
			}
		}
	}
}

// TestSplitLinear: a long run of short siblings is joined once, not pair
// by pair: the text scanned is three joins of the run, bounded by the
// leaves' own bytes.
func TestSplitLinear(t *testing.T) {
	e := newTestEngine(t, Options{})
	var b strings.Builder
	b.WriteString(`[`)
	for i := range 20000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"12"`)
	}
	b.WriteString(`]`)
	res, err := jsonwalk.Walk([]byte(b.String()), jsonwalk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var j joiner
	if m := e.splitFindWith(&j, res.Leaves); len(m) != 0 {
		t.Fatalf("unexpected matches %v", m)
	}
	if max := 3 * (3 * len(res.Leaves)); j.joined > max {
		t.Fatalf("joined %d bytes for %d leaves of 2 bytes (bound %d)", j.joined, len(res.Leaves), max)
	}
}

// TestSplitHarmlessCorpus: the JSON documents of the harmless tool-output
// corpus (package metadata, API answers, configs) hold no value split
// across fields.
func TestSplitHarmlessCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole harmless corpus")
	}
	chunks, err := injection.LoadHarmless("injection/corpus/harmless.jsonl.gz", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, Options{})
	docs := 0
	for _, c := range chunks {
		res, err := jsonwalk.Walk([]byte(strings.TrimSpace(c.Text)), jsonwalk.Limits{})
		if err != nil {
			continue
		}
		docs++
		for _, h := range e.splitFind(res.Leaves) {
			t.Errorf("split match in harmless JSON at %s %q: %+v", res.Leaves[h.leaf].Path, res.Leaves[h.leaf].Value, h)
		}
	}
	if docs < 1000 {
		t.Fatalf("only %d JSON documents in the harmless corpus", docs)
	}
	t.Logf("%d harmless JSON documents, no split value", docs)
}

// TestSplitManyValues: many split values in one document (records of
// card parts) yield every part, each mapped back by binary search.
func TestSplitManyValues(t *testing.T) {
	e := newTestEngine(t, Options{DisableInjection: true})
	var b strings.Builder
	b.WriteString(`{"cards":[`)
	const cards = 2000
	for i := range cards {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"holder":"on file","n":["4111","1111","1111","1111"]}`)
	}
	b.WriteString(`]}`)
	rep, err := e.ScanJSON([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Category == "CREDIT_CARD" {
			if f.End-f.Start != 4 {
				t.Fatalf("unexpected part %+v", f)
			}
			n++
		}
	}
	if n != 4*cards {
		t.Fatalf("%d card parts, want %d", n, 4*cards)
	}
}
