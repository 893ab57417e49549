package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = Main(context.Background(), args, &out, &errb)
	if err != nil {
		code = 1
		var ee *ExitError
		if errors.As(err, &ee) {
			code = ee.Code
		}
	}
	return code, out.String(), errb.String(), err
}

// groups returns the first words of multi-word commands ("audit", "policy").
func groups() []string {
	var gs []string
	for _, c := range commands {
		if w := strings.Fields(c.name); len(w) > 1 && !slices.Contains(gs, w[0]) {
			gs = append(gs, w[0])
		}
	}
	return gs
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands {
		for _, h := range []string{"-h", "--help", "-help"} {
			args := append(strings.Fields(c.name), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, errOut, err := run(t, args...)
				if code != 0 || err != nil {
					t.Fatalf("exit %d (%v), want 0", code, err)
				}
				if errOut != "" {
					t.Errorf("stderr = %q, want empty", errOut)
				}
				want := "usage: portcullis " + c.name
				if n := strings.Count(out, "usage:"); n != 1 || !strings.HasPrefix(out, want) {
					t.Errorf("stdout has %d usage lines, want one starting %q:\n%s", n, want, out)
				}
				if !strings.Contains(out, c.summary) {
					t.Errorf("help does not show the summary %q", c.summary)
				}
			})
		}
	}
	for _, g := range groups() {
		for _, args := range [][]string{{g, "--help"}, {g, "-h"}, {"help", g}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				code, out, _, err := run(t, args...)
				if code != 0 || err != nil {
					t.Fatalf("exit %d (%v), want 0", code, err)
				}
				if strings.Count(out, "usage:") != 1 {
					t.Errorf("want one usage line:\n%s", out)
				}
				for _, c := range commands {
					if strings.HasPrefix(c.name, g+" ") && !strings.Contains(out, c.name) {
						t.Errorf("group help does not list %q", c.name)
					}
				}
			})
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, _, _ := run(t, args...)
		if code != 0 || strings.Count(out, "usage:") != 1 {
			t.Errorf("%v: exit %d, output:\n%s", args, code, out)
		}
	}
}

// A help flag after "--" is an argument, not a help request.
func TestHelpAfterDoubleDash(t *testing.T) {
	code, out, _, err := run(t, "policy", "check", "--", "--help")
	if code != 1 || strings.Contains(out, "usage:") {
		t.Fatalf("exit %d (%v), out %q: want the policy check of file --help to fail with 1", code, err, out)
	}
}

func TestUsageErrorsAreOneLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"audit"}, "audit: missing sub-command"},
		{[]string{"audit", "bogus"}, `unknown command "audit bogus"`},
		{[]string{"policy", "bogus", "--help"}, `unknown command "policy bogus"`},
		{[]string{"serve"}, "serve: --config is required"},
		{[]string{"serve", "--config", "x.yaml", "--log-level", "loud", "extra"}, "serve: --log-level"},
		{[]string{"xds"}, "xds: --config is required"},
		{[]string{"version", "extra"}, "version: unexpected arguments"},
		{[]string{"policy", "check"}, "policy check: want exactly one FILE"},
		{[]string{"policy", "test", "one"}, "policy test: want FILE and CASES"},
		{[]string{"audit", "verify"}, "audit verify: want exactly one DIR"},
		{[]string{"audit", "keygen", "extra"}, "audit keygen: unexpected arguments"},
		{[]string{"explain"}, "explain: want exactly one DECISION_ID"},
		{[]string{"explain", "abc"}, "explain: nothing to search"},
		{[]string{"train", "injection", "extra"}, "train injection: unexpected arguments"},
		{[]string{"scan", "--json", "--tools", "x"}, "scan: --json, --tools and --jsonl are exclusive"},
	}
	// Every command rejects an undefined flag the same way.
	for _, c := range commands {
		tests = append(tests, struct {
			args []string
			want string
		}{append(strings.Fields(c.name), "--no-such-flag"), c.name + ": flag provided but not defined: -no-such-flag"})
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut, err := run(t, tt.args...)
			if code != 2 {
				t.Fatalf("exit %d (%v), want 2", code, err)
			}
			if out != "" || errOut != "" {
				t.Errorf("a usage error printed more than its one line: stdout %q stderr %q", out, errOut)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tt.want) {
				t.Errorf("error = %q, want one line containing %q", msg, tt.want)
			}
			if !strings.Contains(msg, "--help") {
				t.Errorf("error = %q does not say where the usage is", msg)
			}
		})
	}
}

func TestNoArgumentsPrintsUsageAndExits2(t *testing.T) {
	code, out, errOut, _ := run(t)
	if code != 2 || out != "" || strings.Count(errOut, "usage:") != 1 {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errOut)
	}
}

func TestEveryCommandHasSynopsis(t *testing.T) {
	for _, c := range commands {
		if !strings.HasPrefix(synopses[c.name], c.name) {
			t.Errorf("command %q: synopsis %q must start with its name", c.name, synopses[c.name])
		}
	}
	for name := range synopses {
		if !slices.ContainsFunc(commands, func(c command) bool { return c.name == name }) {
			t.Errorf("synopsis for unregistered command %q", name)
		}
	}
}

func TestVersion(t *testing.T) {
	orig := readBuildInfo
	t.Cleanup(func() { readBuildInfo = orig })
	tests := []struct {
		name string
		info *debug.BuildInfo
		want []string
	}{
		{"stamped", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/portcullis-mcp/portcullis", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			[]string{"portcullis v1.2.3", "commit:  0123abc (modified) 2026-12-01T00:00:00Z", "go:      go1.99.1"}},
		{"unstamped", &debug.BuildInfo{GoVersion: "go1.99.2", Main: debug.Module{Path: "github.com/portcullis-mcp/portcullis", Version: "(devel)"}},
			[]string{"portcullis (devel)", "commit:  (unknown)", "go:      go1.99.2"}},
		{"no build info", nil, []string{"portcullis (unknown)", "go:      (unknown)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readBuildInfo = func() (*debug.BuildInfo, bool) { return tt.info, tt.info != nil }
			code, out, _, err := run(t, "version")
			if code != 0 {
				t.Fatalf("exit %d: %v", code, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.99.3", Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "feed"}}}, true
	}
	_, out, _, _ := run(t, "version", "--json")
	if !strings.Contains(out, `"commit": "feed"`) || !strings.Contains(out, `"go_version": "go1.99.3"`) {
		t.Errorf("--json output:\n%s", out)
	}
}

// A failure that is not a command-line mistake is still one line, without
// the pointer to --help.
func TestRuntimeErrorsExit2OneLineWithoutHelpHint(t *testing.T) {
	code, _, _, err := run(t, "explain", "0193", "--audit-dir", t.TempDir()+"/missing")
	if code != 2 || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "--help") || !strings.HasPrefix(err.Error(), "explain: ") {
		t.Fatalf("exit %d, error %q", code, err)
	}
}

func TestSplitUsage(t *testing.T) {
	in := "usage: portcullis audit verify DIR\nWith --pubkey the log must be anchored.\n  -json\n    \tprint JSON\n  -v\tverbose\nUsage of x:\n\n"
	defs, notes := splitUsage(in)
	if defs != "  -json\n    \tprint JSON\n  -v\tverbose\n" || notes != "With --pubkey the log must be anchored.\n" {
		t.Errorf("defs %q notes %q", defs, notes)
	}
}

// A command's own fs.Usage adds notes to its help and stays silent on
// errors.
func TestCommandUsageNotes(t *testing.T) {
	runNote := func(_ context.Context, args []string, _, stderr io.Writer) error {
		fs := newFlags("note")
		fs.Bool("x", false, "an x")
		fs.Usage = func() {
			fmt.Fprintln(fs.Output(), "usage: portcullis note [-x]")
			fmt.Fprintln(fs.Output(), "Notes are kept.")
			fs.PrintDefaults()
		}
		return parseFlags(fs, args, stderr)
	}
	commands = append(commands, command{name: "note", summary: "a test command", run: runNote})
	synopses["note"] = "note [-x]"
	t.Cleanup(func() { commands = commands[:len(commands)-1]; delete(synopses, "note") })
	code, out, _, _ := run(t, "note", "--help")
	if code != 0 || strings.Count(out, "usage:") != 1 || !strings.Contains(out, "Notes are kept.") || !strings.Contains(out, "-x\tan x") {
		t.Errorf("help exit %d:\n%s", code, out)
	}
	code, out, errOut, err := run(t, "note", "--bad")
	if code != 2 || out != "" || errOut != "" || strings.Contains(err.Error(), "\n") {
		t.Errorf("error exit %d out %q err %q: %v", code, out, errOut, err)
	}
}
