package audit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzVerifySegment: Verify never panics on arbitrary segment bytes, and a
// segment it accepts parses into well-formed records.
func FuzzVerifySegment(f *testing.F) {
	dir := f.TempDir()
	cfg := testConfig(dir)
	l, err := Open(cfg)
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := l.Append(sampleRecord(i)); err != nil {
			f.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte(`{"rec":{"seq":1,"prev_hash":"` + "00" + `"},"hash":"zz"}` + "\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, segmentName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Valid() && rep.RecordsValid > 0 {
			if rep.FirstSeq != 1 {
				t.Fatalf("accepted a chain not starting at 1: %+v", rep)
			}
		}
	})
}

// FuzzCanonicalJSON: the canonical encoding is valid JSON for any strings.
func FuzzCanonicalJSON(f *testing.F) {
	f.Add("create_issue", "sess", "\"\\\n\x00\xff", "email")
	f.Fuzz(func(t *testing.T, tool, session, content, finding string) {
		r := sampleRecord(1)
		r.Tool, r.Session = tool, session
		r.Findings = []Finding{{Type: finding, Count: 1}}
		r.Content = &Content{Arguments: content, Result: content, Error: content}
		b := r.appendCanonical(nil, 1, make([]byte, 32), true)
		if !gjson.ValidBytes(b) {
			t.Fatalf("invalid JSON: %q", b)
		}
		if _, err := parseLine([]byte(linePrefix + string(b) + lineHashKey + "0000000000000000000000000000000000000000000000000000000000000000\"}")); err != nil {
			t.Fatalf("parseLine: %v", err)
		}
	})
}
