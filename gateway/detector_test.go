package gateway

import (
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/config"
)

func TestRedactHonoursPolicyTypes(t *testing.T) {
	cfg, err := config.Parse([]byte("servers: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const doc = `{"text":"write to alice.example@example.com, card 4111 1111 1111 1111"}`
	cases := []struct {
		name       string
		types      []string
		keep, drop []string
	}{
		{"all", nil, nil, []string{"alice.example@example.com", "4111 1111 1111 1111"}},
		{"email only", []string{"email"}, []string{"4111 1111 1111 1111"}, []string{"alice.example@example.com"}},
		{"card only", []string{"credit_card"}, []string{"alice.example@example.com"}, []string{"4111 1111 1111 1111"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := d.Redact([]byte(doc), "s1", tc.types, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range tc.keep {
				if !strings.Contains(string(out), k) {
					t.Errorf("%q was redacted: %s", k, out)
				}
			}
			for _, k := range tc.drop {
				if strings.Contains(string(out), k) {
					t.Errorf("%q was not redacted: %s", k, out)
				}
			}
			back, n, err := d.Restore(out, "s1")
			if err != nil || (len(tc.drop) > 0 && n == 0) || string(back) != doc {
				t.Errorf("restore: %v %d %s", err, n, back)
			}
		})
	}
}

func TestRedactSecretsWhenNamed(t *testing.T) {
	cfg, err := config.Parse([]byte("servers: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const key = "AKIAIOSFODNN7EXAMPLF"
	doc := `{"text":"aws_access_key_id = ` + key + `"}`
	out, err := d.Redact([]byte(doc), "s2", []string{"secret"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), key) {
		t.Fatalf("secret not redacted: %s", out)
	}
	out, err = d.Redact([]byte(doc), "s2", []string{"email"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), key) {
		t.Fatalf("secret redacted although only email was named: %s", out)
	}
}

// Redaction from the scan's report gives exactly what detecting again gives
// (issue 10: the processor no longer scans a redacted value twice), for
// every type restriction and style, on both planes, and a report that does
// not belong to the value is not trusted.
func TestRedactWithReportEqualsRedact(t *testing.T) {
	d := testDetectorAdapter(t, "servers: []\n")
	docs := []string{
		`{"text":"write to alice.example@example.com, card 4111 1111 1111 1111"}`,
		`{"content":[{"type":"text","text":"SSN 372-18-4421, key AKIAZ7QW3RTY5UIOXPLK, call +1 415 555 0100"}],"isError":false}`,
		`{"alice.example@example.com":"as a key","n":[1,2,{"deep":"bob@example.org 4111.1111.1111.1111"}]}`,
		`{"plain":"nothing sensitive here","k":7}`,
		`"a lone string with carol@example.net"`,
	}
	typeSets := [][]string{nil, {"email"}, {"credit_card"}, {"secret"}, {"email", "us_ssn", "secret"}}
	styles := []string{"", "mask", "hash", "remove"}
	for _, doc := range docs {
		for _, request := range []bool{false, true} {
			_, rep, err := d.ScanKept([]byte(doc), request)
			if err != nil {
				t.Fatal(err)
			}
			if rep == nil {
				t.Fatalf("no report kept for %s", doc)
			}
			for _, types := range typeSets {
				for _, style := range styles {
					// One-way vaults (""): surrogates do not depend on
					// earlier calls, so both outputs are comparable.
					want, err1 := d.Redact([]byte(doc), "", types, style)
					got, err2 := d.RedactWith([]byte(doc), rep, "", types, style)
					if err1 != nil || err2 != nil || string(got) != string(want) {
						t.Errorf("%s request=%v types=%v style=%q:\n reuse  %s (%v)\n rescan %s (%v)", doc, request, types, style, got, err2, want, err1)
					}
				}
			}
		}
	}
	// A report of other bytes is not reused: the value is detected again.
	_, rep, err := d.ScanKept([]byte(docs[3]), false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.RedactWith([]byte(docs[0]), rep, "", nil, "")
	if err != nil || strings.Contains(string(got), "alice.example@example.com") {
		t.Errorf("a foreign report let PII through: %s (%v)", got, err)
	}
}

// testDetectorAdapter is the gateway's detector for the config in yaml.
func testDetectorAdapter(t *testing.T, yaml string) *detectorAdapter {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	det, err := newDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return det.(*detectorAdapter)
}
