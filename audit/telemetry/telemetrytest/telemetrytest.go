package telemetrytest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
	"github.com/portcullis-mcp/portcullis/audit/telemetry"
)

// Ref is one metric reference in a dashboard or alert expression.
type Ref struct {
	File   string
	Expr   string
	Metric string
	// Labels are the label names used in the reference's own selector
	// (metric{label="..."}).
	Labels []string
}

// Family is one exposed metric family.
type Family struct {
	Type   string          // counter, gauge, histogram, ...
	Labels map[string]bool // label names seen on its samples (without le)
}

var (
	metricRE   = regexp.MustCompile(`portcullis_[a-z0-9_]+`)
	selectorRE = regexp.MustCompile(`(portcullis_[a-z0-9_]+)\s*\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	sampleLbRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
)

// DashboardFile and AlertsFile are the files under examples/observability.
const (
	DashboardFile = "grafana-dashboard.json"
	AlertsFile    = "alerts.yaml"
)

// Refs returns every metric reference in the dashboard JSON (every string in
// it, which covers panel targets and template queries) and in the alert
// rules' expressions.
func Refs(dir string) ([]Ref, error) {
	var refs []Ref
	b, err := os.ReadFile(filepath.Join(dir, DashboardFile))
	if err != nil {
		return nil, err
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		return nil, fmt.Errorf("%s: %w", DashboardFile, err)
	}
	walkStrings(dash, func(s string) { refs = append(refs, RefsIn(DashboardFile, s)...) })

	b, err = os.ReadFile(filepath.Join(dir, AlertsFile))
	if err != nil {
		return nil, err
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("%s: %w", AlertsFile, err)
	}
	var errs []error
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				errs = append(errs, fmt.Errorf("%s: group %s: rule %q needs alert, expr, labels.severity and annotations.summary", AlertsFile, g.Name, r.Alert))
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					errs = append(errs, fmt.Errorf("%s: %s: for: %w", AlertsFile, r.Alert, err))
				}
			}
			refs = append(refs, RefsIn(AlertsFile+" "+r.Alert, r.Expr)...)
		}
	}
	return refs, errors.Join(errs...)
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for _, e := range x {
			walkStrings(e, f)
		}
	}
}

// RefsIn returns the metric references in one expression.
func RefsIn(file, expr string) []Ref {
	var refs []Ref
	withSel := map[int]bool{}
	for _, m := range selectorRE.FindAllStringSubmatchIndex(expr, -1) {
		name := expr[m[2]:m[3]]
		var labels []string
		for _, lm := range matcherRE.FindAllStringSubmatch(expr[m[4]:m[5]], -1) {
			labels = append(labels, lm[1])
		}
		refs = append(refs, Ref{File: file, Expr: expr, Metric: name, Labels: labels})
		withSel[m[2]] = true
	}
	for _, m := range metricRE.FindAllStringIndex(expr, -1) {
		if !withSel[m[0]] {
			refs = append(refs, Ref{File: file, Expr: expr, Metric: expr[m[0]:m[1]]})
		}
	}
	return refs
}

// ParseExposition reads a Prometheus text exposition.
func ParseExposition(text string) (map[string]*Family, error) {
	fams := map[string]*Family{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(rest)
			if len(f) != 2 {
				return nil, fmt.Errorf("bad TYPE line %q", line)
			}
			fams[f[0]] = &Family{Type: f[1], Labels: map[string]bool{}}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, _ := strings.Cut(line, "{")
		if i := strings.IndexByte(name, ' '); i >= 0 {
			name = name[:i]
		}
		fam := family(fams, name)
		if fam == nil {
			return nil, fmt.Errorf("sample %q without a TYPE line", line)
		}
		if labels != "" {
			for _, lm := range sampleLbRE.FindAllStringSubmatch(labels, -1) {
				if lm[1] != "le" && lm[1] != "quantile" {
					fam.Labels[lm[1]] = true
				}
			}
		}
	}
	return fams, sc.Err()
}

// family resolves a sample or reference name to its family, allowing the
// _bucket, _sum and _count series of histograms and summaries.
func family(fams map[string]*Family, name string) *Family {
	if f, ok := fams[name]; ok {
		return f
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if f, ok := fams[base]; ok && (f.Type == "histogram" || f.Type == "summary") {
				return f
			}
		}
	}
	return nil
}

// Check returns one error per reference whose metric is not exposed or whose
// selector uses a label the metric does not have.
func Check(refs []Ref, fams map[string]*Family) error {
	var errs []error
	for _, r := range refs {
		f := family(fams, r.Metric)
		if f == nil {
			errs = append(errs, fmt.Errorf("%s: metric %s is not exposed (in %q)", r.File, r.Metric, r.Expr))
			continue
		}
		for _, l := range r.Labels {
			if !f.Labels[l] {
				errs = append(errs, fmt.Errorf("%s: metric %s has no label %q (in %q)", r.File, r.Metric, l, r.Expr))
			}
		}
	}
	return errors.Join(errs...)
}

// Unreferenced lists exposed portcullis_* families no reference uses.
func Unreferenced(refs []Ref, fams map[string]*Family) []string {
	used := map[*Family]bool{}
	for _, r := range refs {
		if f := family(fams, r.Metric); f != nil {
			used[f] = true
		}
	}
	var out []string
	for name, f := range fams {
		if strings.HasPrefix(name, "portcullis_") && !used[f] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// ExerciseAll feeds every portcullis metric once, so each family (and each
// of its labels) appears in the exposition. Callers that are not wired into
// the gateway yet are exercised here directly.
func ExerciseAll(t *telemetry.Telemetry) {
	d := &decisionlog.Decision{ID: "exercise", Server: "files", Tool: "read_file", Method: "tools/call", Plane: "request",
		Action: "block", WouldAction: "block", Mode: "enforce", Enforced: true, Rule: "exercise", Score: 50,
		Findings: []decisionlog.Finding{{Type: "email"}},
		Latency: decisionlog.Latency{Parse: time.Microsecond, Trust: time.Microsecond, Detect: time.Microsecond,
			Policy: time.Microsecond, Audit: time.Microsecond, Total: 5 * time.Microsecond}}
	t.ObserveDecision(d)
	t.Decision("files", 1, 2)
	t.Phase("request_body", time.Microsecond)
	t.DetectorHits("email", 1)
	t.SinkError("splunk")
	t.SinkDelivered("splunk", 1)
	t.SinkDropped("splunk", 1)
	t.PolicyReload(nil)
	t.AuditQueueDepth(1)
	t.AuditFsync(time.Millisecond, 2)
	t.AuditDropped(1)
	t.Approval("requested")
	t.ApprovalsPending(1)
	t.DecisionLogError()
}

// Names returns the family names sorted (for messages).
func Names(fams map[string]*Family) []string {
	var out []string
	for n := range fams {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
