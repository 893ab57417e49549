package config

import (
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(`
listen: {proxy: 127.0.0.1:10000, extproc: 127.0.0.1:50051, admin: 127.0.0.1:9090}
servers:
  - name: everything
    url: http://127.0.0.1:3001/mcp
    tools: {allow: ["*"], deny: []}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.MaxBodyBytes != DefaultMaxBodyBytes || c.Limits.MaxDepth != DefaultMaxDepth || c.Limits.MessageTimeout != DefaultMessageTimeout {
		t.Fatalf("defaults not applied: %+v", c.Limits)
	}
	s, ok := c.Server("everything")
	if !ok {
		t.Fatal("server missing")
	}
	if allowed, _ := s.ToolDecision("anything"); !allowed {
		t.Fatal("allow * should allow")
	}
}

func TestParseErrorsHaveFieldPaths(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown top-level", "lisen: {}\n", []string{"lisen: unknown field (line 1)"}},
		{"unknown nested", "servers:\n  - name: a\n    url: http://x/mcp\n    tools: {alow: [x]}\n", []string{"servers[0].tools.alow: unknown field (line 4)"}},
		{"duplicate key", "servers: []\nservers: []\n", []string{"servers: duplicate key (line 2)"}},
		{"every problem joined", `
listen: {extproc: "nope"}
limits: {max_depth: 1}
servers:
  - name: Bad Name
    url: ftp://x
  - name: ok
    url: http://user:pw@h/mcp
    sandbox: "::"
    tools: {allow: [""]}
  - name: ok
    url: http://h/mcp
`, []string{
			`listen.extproc: invalid address "nope"`,
			"limits.max_depth: must be between 2 and 10000",
			`servers[0].name: "Bad Name" must match`,
			"servers[0].url: invalid URL \"ftp://x\": scheme must be http or https",
			"servers[1].url: invalid URL \"http://user:pw@h/mcp\": credentials in URLs are not allowed",
			"servers[1].sandbox:",
			"servers[1].tools.allow[0]: empty pattern",
			`servers[2].name: "ok" duplicates servers[1].name`,
		}},
		{"two documents", "servers: []\n---\nservers: []\n", []string{"more than one YAML document"}},
		{"empty", "", []string{"empty document"}},
		{"wrong type", "limits: {max_depth: lots}\n", []string{"cannot unmarshal"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatal("want error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "anything/with/slash", true},
		{"delete_*", "delete_file", true},
		{"delete_*", "undelete_file", false},
		{"read_?ile", "read_file", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"", "", true},
	}
	for _, tc := range cases {
		if got := Glob(tc.p, tc.s); got != tc.want {
			t.Errorf("Glob(%q,%q)=%v", tc.p, tc.s, got)
		}
	}
}

func TestToolDecisionDenyWins(t *testing.T) {
	s := Server{Name: "f", Tools: ToolRules{Allow: []string{"*"}, Deny: []string{"delete_*"}}}
	if ok, rule := s.ToolDecision("delete_file"); ok || rule != "servers.f.tools.deny[0]=delete_*" {
		t.Fatalf("got %v %s", ok, rule)
	}
	empty := Server{Name: "e"}
	if ok, rule := empty.ToolDecision("x"); ok || !strings.Contains(rule, "default-deny") {
		t.Fatalf("empty rules must deny: %v %s", ok, rule)
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "aXbYc")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 64 || len(s) > 256 {
			return
		}
		_ = Glob(p, s)
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("servers:\n  - name: a\n    url: http://x/mcp\n"))
	f.Add([]byte("listen: {proxy: 1}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b)
	})
}
