package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyCommands(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: portcullis.dev/v1\nkind: ToolPolicy\nmetadata: {name: x}\nspec:\n  mode: sometimes\n  servers: [{name: a, tools: [{name: t, risk: 500}]}]\n  rules: [{name: r, action: deny, when: 'tool ==' }]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"check ok", []string{"policy", "check", "../../../examples/policies/policy.yaml"}, 0, []string{"OK ", "version 2026-11-24.1"}},
		{"check invalid lists every problem", []string{"policy", "check", bad}, 1, []string{"INVALID", "spec.mode: unknown mode", "spec.servers[0].tools[0].risk: must be between 0 and 100", `spec.rules[0].when: rule "r": line 1`}},
		{"check missing file", []string{"policy", "check", "/nonexistent/p.yaml"}, 1, []string{"INVALID", "no such file"}},
		{"check usage", []string{"policy", "check"}, 2, nil},
		{"test example suite", []string{"policy", "test", "-coverage", "../../../examples/policies/policy.yaml", "../../../examples/policies/cases.yaml"}, 0, []string{"PASS: DELETE is blocked", "PASS: "}},
		{"test usage", []string{"policy", "test", "only-one"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := Main(context.Background(), tt.args, &out, &errb)
			code := 0
			if err != nil {
				var ee *ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("error without exit code: %v", err)
				}
				code = ee.Code
			}
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s\nerr: %v", code, tt.wantCode, out.String(), errb.String(), err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "FAIL:") {
				t.Errorf("unexpected failing case:\n%s", out.String())
			}
		})
	}
}

func TestPolicyTestReportsFailures(t *testing.T) {
	cases := filepath.Join(t.TempDir(), "cases.yaml")
	if err := os.WriteFile(cases, []byte("cases:\n  - name: wrong expectation\n    input: {server: filesystem, tool: read_file, args: {path: /workspace/a}, agent: {id: alice, trust: high, source: jwt}}\n    expect: {action: block}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := Main(context.Background(), []string{"policy", "test", "../../../examples/policies/policy.yaml", cases}, &out, &errb)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("want exit 1, got %v", err)
	}
	for _, w := range []string{"FAIL: wrong expectation", "action: got allow, want block", "FAIL: 1/1"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, out.String())
		}
	}
}
