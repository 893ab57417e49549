package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runScanCLI(t *testing.T, args ...string) ([]scanVerdict, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Main(context.Background(), append([]string{"scan"}, args...), &out, &errb)
	var vs []scanVerdict
	dec := json.NewDecoder(&out)
	for dec.More() {
		var v scanVerdict
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("bad output %q: %v", out.String(), err)
		}
		vs = append(vs, v)
	}
	return vs, err
}

func TestScanText(t *testing.T) {
	vs, err := runScanCLI(t, "--text", "Héllo, card 4111 1111 1111 1111, key AKIAQYLPMN5HFIQR7XYZ")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || len(vs[0].PII) != 1 || len(vs[0].Secrets) != 1 {
		t.Fatalf("verdicts %+v", vs)
	}
	p := vs[0].PII[0]
	// "Héllo, card " is 12 characters (13 bytes): spans are rune offsets.
	if p.Type != "credit_card" || p.Start != 12 || p.End != 31 || p.Value != "4111 1111 1111 1111" {
		t.Errorf("pii item %+v", p)
	}
}

func TestScanJSONLAndJSON(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.jsonl")
	data := `{"text":"mail ünïcode jo@x.io"}` + "\n\n" + `not json` + "\n" + `{"text":"nothing here"}` + "\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	vs, err := runScanCLI(t, "--jsonl", file, "--no-values")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("want 3 verdicts (blank line skipped), got %d", len(vs))
	}
	if e := vs[0].PII; len(e) != 1 || e[0].Start != 13 || e[0].Value != "" {
		t.Errorf("line 1: %+v", e)
	}
	if vs[1].Error == "" || vs[2].Error != "" || len(vs[2].PII) != 0 {
		t.Errorf("lines 2-3: %+v %+v", vs[1], vs[2])
	}

	vs, err = runScanCLI(t, "--json", "--text", `{"result":{"content":[{"type":"text","text":"é SSN 536-22-8727"}]}}`, "--redact", "mask")
	if err != nil {
		t.Fatal(err)
	}
	v := vs[0]
	if len(v.PII) != 1 || v.PII[0].Path != "result.content.0.text" || v.PII[0].Start != 6 || v.Redacted == nil || !strings.Contains(*v.Redacted, "[SSN_1]") {
		t.Errorf("json verdict %+v", v)
	}
}

func TestScanErrors(t *testing.T) {
	_, err := runScanCLI(t, "--json", "--text", `{"a":`)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 2 {
		t.Errorf("invalid JSON: err = %v", err)
	}
	if _, err := runScanCLI(t, "--json", "--tools", "--text", "{}"); !errors.As(err, &ee) || ee.Code != 2 {
		t.Errorf("exclusive flags: err = %v", err)
	}
	if _, err := runScanCLI(t, "--redact", "bogus", "--text", "x"); !errors.As(err, &ee) || ee.Code != 2 {
		t.Errorf("bad mode: err = %v", err)
	}
	if _, err := runScanCLI(t, "--fail", "--text", "jo@x.io"); !errors.As(err, &ee) || ee.Code != 1 {
		t.Errorf("--fail: err = %v", err)
	}
	if _, err := runScanCLI(t, "--fail", "--text", "plain words only"); err != nil {
		t.Errorf("--fail on clean text: %v", err)
	}
}

// TestScanInputs: a positional argument is a file (one verdict each, named
// when there are several), "-" is stdin, a missing file is an error rather
// than a scan of the path string, and PII types use the policy vocabulary.
func TestScanInputs(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	b := filepath.Join(dir, "b.json")
	if err := os.WriteFile(a, []byte("write to jo@example.org or call 212-555-0199"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(`{"x":"plain words only"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		stdin     string
		wantFiles []string
		wantTypes [][]string
		wantCode  int
	}{
		{name: "one file", args: []string{a}, wantFiles: []string{""}, wantTypes: [][]string{{"email", "phone"}}},
		{name: "two files", args: []string{a, b}, wantFiles: []string{a, b}, wantTypes: [][]string{{"email", "phone"}, {}}},
		{name: "stdin", args: []string{"-"}, stdin: "mail jo@example.org", wantFiles: []string{""}, wantTypes: [][]string{{"email"}}},
		{name: "no argument reads stdin", stdin: "nothing", wantFiles: []string{""}, wantTypes: [][]string{{}}},
		{name: "text flag", args: []string{"--text", "jo@example.org"}, wantFiles: []string{""}, wantTypes: [][]string{{"email"}}},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.txt")}, wantCode: 2},
		{name: "text and file", args: []string{"--text", "x", a}, wantCode: 2},
		{name: "request plane", args: []string{"--plane", "request", "--text", "jo@example.org"}, wantFiles: []string{""}, wantTypes: [][]string{{"email"}}},
		{name: "bad plane", args: []string{"--plane", "both", "--text", "x"}, wantCode: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stdin != "" || len(tc.args) == 0 {
				f := filepath.Join(t.TempDir(), "stdin")
				if err := os.WriteFile(f, []byte(tc.stdin), 0o600); err != nil {
					t.Fatal(err)
				}
				in, err := os.Open(f)
				if err != nil {
					t.Fatal(err)
				}
				defer in.Close()
				old := os.Stdin
				os.Stdin = in
				defer func() { os.Stdin = old }()
			}
			vs, err := runScanCLI(t, tc.args...)
			if tc.wantCode != 0 {
				var ee *ExitError
				if !errors.As(err, &ee) || ee.Code != tc.wantCode {
					t.Fatalf("err = %v, want exit %d", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != len(tc.wantFiles) {
				t.Fatalf("got %d verdicts, want %d", len(vs), len(tc.wantFiles))
			}
			for i, v := range vs {
				if v.File != tc.wantFiles[i] {
					t.Errorf("verdict %d file %q, want %q", i, v.File, tc.wantFiles[i])
				}
				var types []string
				for _, p := range v.PII {
					types = append(types, p.Type)
				}
				if strings.Join(types, ",") != strings.Join(tc.wantTypes[i], ",") {
					t.Errorf("verdict %d pii types %v, want %v", i, types, tc.wantTypes[i])
				}
			}
		})
	}
}
