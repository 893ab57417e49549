package policy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestInvalidGolden parses every testdata/invalid/*.yaml (one problem type
// each, many_problems has several) and compares the joined report with its
// .golden file.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid policies: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, perr := Parse(data)
			if perr == nil {
				t.Fatal("invalid policy accepted")
			}
			got := perr.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./policy -run TestInvalidGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("report mismatch\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

const minimal = `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: min}
spec:
  servers: [{name: fs, tools: [{name: read}]}]
`

func TestDefaultsAreExplicit(t *testing.T) {
	p, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode() != ModeEnforce || p.Name() != "min" || !strings.HasPrefix(p.Version(), "sha256:") {
		t.Fatalf("mode %s name %s version %s", p.Mode(), p.Name(), p.Version())
	}
	want := [7]int{30, 15, 10, 15, 5, 15, 10}
	if p.weights != want {
		t.Fatalf("weights %v, want %v", p.weights, want)
	}
	if len(p.bands) != 3 || p.bands[1].Action != ActionRequireApproval {
		t.Fatalf("bands %+v", p.bands)
	}
	if got := p.servers["fs"].tools[0]; got.risk != DefaultToolRisk || got.floor != DefaultToolRisk {
		t.Fatalf("tool defaults %+v", got)
	}
	if a := p.AnonymousIdentity(); a.ID != "anonymous" || a.Trust != "untrusted" || a.Source != SourceAnonymous {
		t.Fatalf("anonymous %+v", a)
	}
	// The same bytes give the same version; different bytes a different one.
	p2, _ := Parse([]byte(minimal + "\n"))
	p3, _ := Parse([]byte(minimal))
	if p.Version() != p3.Version() || p.Version() == p2.Version() {
		t.Fatalf("versions %s %s %s", p.Version(), p3.Version(), p2.Version())
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	if data, err := os.ReadFile("../examples/policies/policy.yaml"); err == nil {
		f.Add(data)
	}
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, fn := range files {
		if data, err := os.ReadFile(fn); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if p != nil {
				t.Fatal("policy returned with error")
			}
			return
		}
		// Any accepted policy must evaluate without panicking.
		d := p.Evaluate(&Input{Plane: PlaneRequest, Method: "tools/call", Server: "fs", Tool: "read", Args: []byte(`{"a":1}`)})
		if d.Score < 0 || d.Score > 100 || d.ID == "" || len(d.Factors) != 7 {
			t.Fatalf("bad decision %+v", d)
		}
		p.ToolVisible(Identity{}, "fs", "read")
	})
}

func TestNeedsCostLimit(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{`tool == "x" && args.q.startsWith("a")`, false},
		{`args.q.matches("^select")`, false},
		{`matches(args.q, "^select")`, false},
		{`args.q.matches(args.p)`, true},
		{`findings.exists(f, f.count > 1)`, true},
		{`args.xs.all(x, x > 0)`, true},
	}
	for _, tt := range tests {
		ast, iss := celEnv.Compile(tt.expr)
		if iss.Err() != nil {
			t.Fatalf("%s: %v", tt.expr, iss.Err())
		}
		if got := needsCostLimit(ast); got != tt.want {
			t.Errorf("needsCostLimit(%s) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}
