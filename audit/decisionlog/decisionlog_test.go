package decisionlog

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() *Decision {
	return &Decision{
		Time: time.Date(2026, 12, 2, 6, 0, 0, 123456000, time.UTC), ID: "0193a1b2c3d4e5f60718293a4b5c6d7e",
		Principal: "agent-1", Server: "github", Method: "tools/call", Tool: "delete_repo", Plane: "request",
		Action: "allow", WouldAction: "block", Mode: "dry-run", Enforced: false, Rule: "deny-destructive",
		PolicyVersion: "2026-11-24.1", Score: 78,
		Factors: []Factor{
			{Name: "tool_sensitivity", Score: 90, Weight: 3, Reason: "tool delete_repo has risk 90"},
			{Name: "behavioral", Score: 75, Weight: 2, Reason: "velocity 12/min (6x baseline)"},
		},
		Findings: []Finding{{Type: "email", Rule: "pii.email", Path: "$.arguments.owner", Start: 3, End: 20}},
		Latency:  Latency{Parse: 12 * time.Microsecond, Trust: 3 * time.Microsecond, Detect: 140 * time.Microsecond, Policy: 20 * time.Microsecond, Audit: 5 * time.Microsecond, Total: 190 * time.Microsecond},
	}
}

func TestGoldenLine(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, LevelAll)
	if err := l.Log(sample()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "decision.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("line:\n%s\nwant:\n%s", buf.String(), want)
	}
	// The line reads back to the same decision.
	got, err := Parse(bytes.TrimSpace(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, *sample()) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", got, *sample())
	}
}

func TestLevels(t *testing.T) {
	tests := []struct {
		level       Level
		action      string
		would       string
		wantWritten bool
	}{
		{LevelAll, "allow", "allow", true},
		{LevelAll, "redact", "redact", true},
		{LevelRefusals, "allow", "allow", false},
		{LevelRefusals, "redact", "redact", false},
		{LevelRefusals, "sandbox", "sandbox", false},
		{LevelRefusals, "block", "block", true},
		{LevelRefusals, "require_approval", "require_approval", true},
		{LevelRefusals, "allow", "block", true}, // dry run: would have refused
		{LevelOff, "block", "block", false},
	}
	for _, tt := range tests {
		t.Run(tt.level.String()+"/"+tt.action+"/"+tt.would, func(t *testing.T) {
			var buf bytes.Buffer
			d := sample()
			d.Action, d.WouldAction = tt.action, tt.would
			if err := New(&buf, tt.level).Log(d); err != nil {
				t.Fatal(err)
			}
			if got := buf.Len() > 0; got != tt.wantWritten {
				t.Errorf("written = %v, want %v", got, tt.wantWritten)
			}
		})
	}
	var nilLogger *DecisionLogger
	if err := nilLogger.Log(sample()); err != nil || nilLogger.Wants(sample()) {
		t.Error("a nil logger must log nothing")
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"": LevelOff, "off": LevelOff, "refusals": LevelRefusals, "all": LevelAll} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("ALL"); err == nil {
		t.Error("levels are case-sensitive like every other config enum")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want []string
	}{
		{Config{}, nil},
		{Config{Decisions: "all", DecisionsFile: "/tmp/x"}, nil},
		{Config{Decisions: "some"}, []string{`log.decisions: unknown level "some"`}},
		{Config{DecisionsFile: "d.jsonl"}, []string{"log.decisions_file: set, but log.decisions is off"}},
		{Config{Decisions: "off", DecisionsFile: "d.jsonl"}, []string{"log.decisions_file: set, but log.decisions is off"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate("log")
		if (err == nil) != (len(tt.want) == 0) {
			t.Errorf("%+v: err = %v, want %v", tt.cfg, err, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: err %q lacks %q", tt.cfg, err, w)
			}
		}
	}
}

func TestConfigOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	l, c, err := Config{Decisions: "refusals", DecisionsFile: path}.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sample()
	d.Action, d.WouldAction = "block", "block"
	if err := l.Log(d); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Parse(bytes.TrimSpace(b)); err != nil || got.ID != d.ID || got.Action != "block" {
		t.Errorf("file line %q: %+v %v", b, got, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// Concurrent decisions produce whole lines, never interleaved.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, LevelAll)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if err := l.Log(sample()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, ln := range lines {
		if _, err := Parse([]byte(ln)); err != nil {
			t.Fatalf("broken line %q: %v", ln, err)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorIsCountedAndReturned(t *testing.T) {
	l := New(failWriter{}, LevelAll)
	if err := l.Log(sample()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	if l.Errors() != 1 {
		t.Errorf("Errors() = %d, want 1", l.Errors())
	}
}

// The record has no field that could carry content: every field is an
// identifier, a number, a time, or a factor reason. A new field must be
// added here deliberately.
func TestDecisionFieldsAreContentFree(t *testing.T) {
	// ClientID and Actor are identifiers from the validated token.
	allowed := map[string]bool{"Time": true, "ID": true, "Principal": true, "ClientID": true, "Actor": true, "Server": true, "Method": true, "Tool": true,
		"Plane": true, "Action": true, "WouldAction": true, "Mode": true, "Enforced": true, "Rule": true,
		"PolicyVersion": true, "Score": true, "Factors": true, "Findings": true, "Latency": true}
	typ := reflect.TypeOf(Decision{})
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i); !allowed[f.Name] {
			t.Errorf("Decision.%s is not on the content-free allow list", f.Name)
		}
	}
	ft := reflect.TypeOf(Finding{})
	for i := 0; i < ft.NumField(); i++ {
		switch ft.Field(i).Name {
		case "Type", "Rule", "Path", "Start", "End", "Count":
		default:
			t.Errorf("Finding.%s is not on the content-free allow list", ft.Field(i).Name)
		}
	}
}

func BenchmarkLog(b *testing.B) {
	l := New(discard{}, LevelAll)
	d := sample()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Log(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogRefusalsSkipsAllow(b *testing.B) {
	l := New(discard{}, LevelRefusals)
	d := sample()
	d.Action, d.WouldAction = "allow", "allow"
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Log(d); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
