package depcheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/portcullis-mcp/portcullis"

// rule: packages under from (a module-relative prefix) must not import
// packages under any of not; the high-level packages must not appear even
// transitively.
type rule struct {
	from string
	not  []string
}

var (
	high = []string{"gateway", "extproc", "cmd", "examples"}
	// config is high-level too: modules should own their config section.
	rules = []rule{
		{"mcp/jsondoc", append([]string{"mcp", "config", "detectors", "policy", "audit"}, high...)},
		{"mcp", append([]string{"config", "detectors", "policy", "audit"}, high...)},
		{"detectors", append([]string{"config", "mcp", "policy", "audit"}, high...)},
		{"audit", append([]string{"detectors", "mcp", "policy"}, high...)},
		{"policy", append([]string{"config", "detectors", "mcp", "audit"}, high...)},
		{"envoy/dataplane", append([]string{"config", "detectors", "mcp", "policy", "audit"}, high...)},
		{"xds", append([]string{"detectors", "mcp", "policy", "audit"}, high...)},
		{"extproc", []string{"gateway", "cmd", "examples", "detectors"}},
	}
	// known are today's violations, to be removed as each module takes over
	// its config section (issue 10). New ones fail the test.
	known = map[string]bool{
		"policy -> config":            true,
		"policy/behavior -> config":   true,
		"policy/identity -> config":   true,
		"policy/policytest -> config": true,
	}
)

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} | {{join .Deps " "}}`, module+"/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, ok := strings.CutPrefix(fields[0], module+"/")
		if !ok {
			continue
		}
		for _, r := range rules {
			if !under(pkg, r.from) {
				continue
			}
			direct := true
			for _, dep := range fields[1:] {
				if dep == "|" {
					direct = false
					continue
				}
				d, ok := strings.CutPrefix(dep, module+"/")
				if !ok {
					continue
				}
				banned := r.not
				if !direct {
					banned = high
				}
				if !slices.ContainsFunc(banned, func(n string) bool { return under(d, n) && !under(d, r.from) }) {
					continue
				}
				v := pkg + " -> " + d
				if known[v] {
					seen[v] = true
					continue
				}
				t.Errorf("%s must not depend on %s (rule for %s/...; direct import: %v)", pkg, d, r.from, direct)
			}
		}
	}
	for v := range known {
		if !seen[v] {
			t.Logf("known violation %q is gone: remove it from the list", v)
		}
	}
}
