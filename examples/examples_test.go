// Package examples_test keeps the examples and the README's configuration
// table true: every YAML file under examples/ loads with the strict loader
// for its kind, policy cases pass against their policy, and the README's
// configuration keys match the config struct in both directions.
package examples_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-mcp/portcullis/audit/telemetry/telemetrytest"
	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/policytest"
)

// yamlKind classifies a YAML file by its content.
func yamlKind(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(b, &top); err != nil {
		t.Fatalf("%s: not YAML: %v", path, err)
	}
	switch {
	case top["kind"] == "ToolPolicy":
		return "policy"
	case top["cases"] != nil:
		return "cases"
	case top["groups"] != nil:
		return "alerts"
	case top["receivers"] != nil && top["exporters"] != nil:
		return "collector"
	case top["listen"] != nil || top["servers"] != nil:
		return "config"
	}
	return "unknown"
}

func TestEveryExampleYAMLLoads(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	kinds := map[string]int{}
	for _, f := range files {
		kind := yamlKind(t, f)
		kinds[kind]++
		t.Run(f, func(t *testing.T) {
			switch kind {
			case "config":
				// config.Load resolves nothing relative to the file, so a
				// quickstart config loads from here as from the repo root.
				if _, err := config.Load(f); err != nil {
					t.Errorf("config: %v", err)
				}
			case "policy":
				if _, err := policy.Load(f); err != nil {
					t.Errorf("policy: %v", err)
				}
			case "cases":
				pol := filepath.Join(filepath.Dir(f), "policy.yaml")
				p, err := policy.Load(pol)
				if err != nil {
					t.Fatalf("cases %s need %s: %v", f, pol, err)
				}
				suite, err := policytest.Load(f)
				if err != nil {
					t.Fatalf("cases: %v", err)
				}
				for _, r := range policytest.Run(p, suite) {
					if !r.Pass {
						t.Errorf("case %q fails against %s: %v", r.Name, pol, r.Failures)
					}
				}
			case "alerts":
				if _, err := telemetrytest.Refs(filepath.Dir(f)); err != nil {
					t.Errorf("alerts: %v", err)
				}
			case "collector":
				// Checked component by component in otel-collector/collector_test.go.
			default:
				t.Errorf("unrecognised example YAML: add its loader to this test")
			}
		})
	}
	for _, k := range []string{"config", "policy", "cases", "alerts"} {
		if kinds[k] == 0 {
			t.Errorf("no %s example found (kinds %v)", k, kinds)
		}
	}
}

// The policy header's instructions name files that exist.
func TestQuickstartPolicyHeaderNamesRealFiles(t *testing.T) {
	b, err := os.ReadFile("quickstart/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`[\w./-]+\.yaml`).FindAllString(string(b), -1)
	if len(names) == 0 {
		t.Fatal("the header names no file; this test checks nothing")
	}
	for _, m := range names {
		_, fromRoot := os.Stat(filepath.Join("..", m))
		_, fromDir := os.Stat(filepath.Join("quickstart", m))
		if fromRoot != nil && fromDir != nil {
			t.Errorf("quickstart/policy.yaml names %s, which exists neither from the repository root nor next to it", m)
		}
	}
}

// configKeys lists every key path of config.Config ("servers[].tools.allow").
// Leaves are scalars, slices of scalars, maps and durations.
func configKeys() []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			walk(prefix+"[]", t.Elem())
			return
		}
		if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
			out = append(out, prefix)
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || tag == "-" {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			p := tag
			if prefix != "" {
				p = prefix + "." + tag
			}
			walk(p, f.Type)
		}
	}
	walk("", reflect.TypeOf(config.Config{}))
	sort.Strings(out)
	return out
}

// readmeKeys parses the key column of the README's configuration table.
// Cells list keys separated by ", " or " / "; ".x" continues the previous
// key's parent; "{a,b}" expands; "x.*" stands for everything under x.
func readmeKeys(t *testing.T) []string {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "## Configuration reference")
	if start < 0 {
		t.Fatal("README has no Configuration reference section")
	}
	var keys []string
	inTable := false
	for _, line := range strings.Split(text[start:], "\n") {
		if strings.HasPrefix(line, "| key |") {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cell := strings.Split(line, "|")[1]
		var prev string
		for _, code := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
			k := code[1]
			if strings.HasPrefix(k, ".") {
				k = prev[:strings.LastIndex(prev, ".")] + k
			}
			prev = k
			if i := strings.Index(k, "{"); i >= 0 {
				j := strings.Index(k, "}")
				for _, alt := range strings.Split(k[i+1:j], ",") {
					keys = append(keys, k[:i]+alt+k[j+1:])
				}
				continue
			}
			keys = append(keys, k)
		}
	}
	if len(keys) < 10 {
		t.Fatalf("parsed only %v from the README table", keys)
	}
	return keys
}

func TestReadmeConfigTableMatchesConfig(t *testing.T) {
	cfgKeys := configKeys()
	docKeys := readmeKeys(t)
	covers := func(doc, key string) bool {
		if base, ok := strings.CutSuffix(doc, ".*"); ok {
			return key == base || strings.HasPrefix(key, base+".") || strings.HasPrefix(key, base+"[]")
		}
		return key == doc || strings.HasPrefix(key, doc+".") || strings.HasPrefix(key, doc+"[]")
	}
	for _, k := range cfgKeys {
		documented := false
		for _, d := range docKeys {
			if covers(d, k) {
				documented = true
				break
			}
		}
		if !documented {
			t.Errorf("config key %s is not in the README's configuration table", k)
		}
	}
	for _, d := range docKeys {
		exists := false
		for _, k := range cfgKeys {
			if covers(d, k) {
				exists = true
				break
			}
		}
		if !exists {
			t.Errorf("README documents %s, which is not a config key", d)
		}
	}
}

// Every example directory has a row in examples/README.md.
func TestReadmeListsEveryExample(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if !strings.Contains(string(b), "| `"+e.Name()+"/") {
			t.Errorf("examples/README.md has no row for %s/", e.Name())
		}
	}
}
