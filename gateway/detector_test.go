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
