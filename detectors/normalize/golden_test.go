package normalize

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/internal/golden"
)

// TestGolden pins every view of the table inputs in testdata/views.golden.json
// (go test ./detectors/normalize -run TestGolden -update to rewrite after an
// intended change; review the diff).
func TestGolden(t *testing.T) {
	type entry struct {
		Name      string   `json:"name"`
		Folded    string   `json:"folded"`
		Despaced  string   `json:"despaced"`
		Decoded   []string `json:"decoded,omitempty"`
		Invisible int      `json:"invisible,omitempty"`
		Signals   []string `json:"signals,omitempty"`
	}
	var got []entry
	for _, tc := range cases {
		v := Normalize(tc.in)
		got = append(got, entry{tc.name, v.Folded, v.Despaced, v.Decoded, v.Invisible, v.Signals})
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "views.golden.json")
	if golden.Update() {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if string(want) != string(b)+"\n" {
		t.Fatalf("views differ from %s; rerun with -update and review the diff", path)
	}
}
