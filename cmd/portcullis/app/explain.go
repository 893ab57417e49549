package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
	"github.com/portcullis-mcp/portcullis/config"
)

func init() {
	register(command{name: "explain", summary: "explain one decision from the audit log: action, mode, rule, risk factors with reasons, findings", run: runExplain})
}

// auditRecord is the part of an audit record (OCSF API Activity with the
// portcullis unmapped block) that explain shows. Unknown fields are ignored
// so explain keeps working as the record gains fields.
type auditRecord struct {
	Seq       uint64 `json:"seq"`
	Kind      string `json:"kind"`
	TimeDT    string `json:"time_dt"`
	RiskScore int    `json:"risk_score"`
	RiskLevel string `json:"risk_level"`
	Actor     struct {
		User    struct{ UID string } `json:"user"`
		Session struct{ UID string } `json:"session"`
	} `json:"actor"`
	API struct {
		Operation string `json:"operation"`
		Service   struct {
			Name string `json:"name"`
		} `json:"service"`
		Request struct {
			UID string `json:"uid"`
		} `json:"request"`
	} `json:"api"`
	Resources []struct {
		Name string `json:"name"`
	} `json:"resources"`
	Policy struct {
		Version string `json:"version"`
	} `json:"policy"`
	Trace struct {
		UID string `json:"uid"`
	} `json:"trace"`
	Unmapped struct {
		Portcullis struct {
			DecisionID  string   `json:"decision_id"`
			Plane       string   `json:"plane"`
			Decision    string   `json:"decision"`
			WouldBe     string   `json:"would_be"`
			RuleIDs     []string `json:"rule_ids"`
			RiskFactors []struct {
				Name   string `json:"name"`
				Score  int    `json:"score"`
				Weight int    `json:"weight"`
				Reason string `json:"reason"`
			} `json:"risk_factors"`
			Findings []struct {
				Type  string `json:"type"`
				Rule  string `json:"rule"`
				Count int    `json:"count"`
				Start *int   `json:"start"`
				End   *int   `json:"end"`
			} `json:"findings"`
			ErrorType  string `json:"error_type"`
			DurationUS int64  `json:"duration_us"`
		} `json:"portcullis"`
	} `json:"unmapped"`
}

// Explanation is explain's output (--json prints it as is): the decision as
// the decision record describes it, where it was found, and what the audit
// record adds (risk level, trace, error type).
type Explanation struct {
	decisionlog.Decision
	Session   string `json:"session,omitempty"`
	RequestID string `json:"jsonrpc_request_id,omitempty"`
	RiskLevel string `json:"risk_level,omitempty"`
	TraceID   string `json:"trace_id,omitempty"`
	ErrorType string `json:"error_type,omitempty"`
	// FindingCounts is the audit record's per-type count (it keeps no spans).
	FindingCounts map[string]int `json:"finding_counts,omitempty"`
	// Source names the audit segment and sequence number, and the decision
	// log file when one contributed weights, reasons and phase latencies.
	Source      string `json:"source"`
	DecisionLog string `json:"decision_log,omitempty"`
}

func runExplain(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("explain")
	dir := fs.String("audit-dir", "", "audit directory (default: audit.dir from --config)")
	cfgPath := fs.String("config", "", "portcullis.yaml to take audit.dir and log.decisions_file from")
	dlog := fs.String("decision-log", "", "decision log file (JSON lines) for factor weights, reasons and phase latencies (default: log.decisions_file from --config)")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	if err := parseFlags(fs, auditInterleave(fs, args), stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(errors.New("explain: want exactly one DECISION_ID"))
	}
	id := strings.TrimSpace(fs.Arg(0))
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("explain: %w", err)}
		}
		if *dir == "" {
			*dir = cfg.Audit.Dir
		}
		if *dlog == "" {
			*dlog = cfg.Log.DecisionsFile
		}
	}
	if *dir == "" && *dlog == "" {
		return usageError(errors.New("explain: nothing to search; pass --audit-dir DIR, --decision-log FILE or --config FILE"))
	}
	var exps []Explanation
	searched := 0
	where := *dlog
	if *dir != "" {
		var err error
		if exps, searched, err = findInAudit(*dir, id); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("explain: %w", err)}
		}
		where = *dir
	}
	if *dlog != "" {
		d, ok, err := findInDecisionLog(*dlog, id)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("explain: %w", err)}
		}
		if ok {
			exps = mergeDecisionLog(exps, d, *dlog)
		}
	}
	if len(exps) == 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("explain: decision %s not found in %s (%d audit records searched)", id, where, searched)}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if len(exps) == 1 {
			return enc.Encode(exps[0])
		}
		return enc.Encode(exps)
	}
	for i, e := range exps {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		writeExplanation(stdout, e)
	}
	return nil
}

// findInAudit scans every segment of dir, oldest first, for records with the
// decision id (a tools/call has one per plane that was decided).
func findInAudit(dir, id string) ([]Explanation, int, error) {
	segs, err := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
	if err != nil {
		return nil, 0, err
	}
	if len(segs) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, 0, fmt.Errorf("audit directory: %w", err)
		}
		return nil, 0, fmt.Errorf("no audit segments (seg-*.jsonl) in %s", dir)
	}
	sort.Strings(segs)
	var out []Explanation
	searched := 0
	needle := []byte(`"decision_id":"` + id + `"`)
	for _, seg := range segs {
		err := func() error {
			f, err := os.Open(seg)
			if err != nil {
				return err
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), 16<<20)
			for sc.Scan() {
				searched++
				if !strings.Contains(sc.Text(), string(needle)) {
					continue
				}
				var line struct {
					Rec json.RawMessage `json:"rec"`
				}
				var rec auditRecord
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					return fmt.Errorf("%s: line %d: %w", seg, searched, err)
				}
				if err := json.Unmarshal(line.Rec, &rec); err != nil {
					return fmt.Errorf("%s: record %d: %w", seg, searched, err)
				}
				if rec.Unmapped.Portcullis.DecisionID != id {
					continue
				}
				out = append(out, fromAudit(rec, fmt.Sprintf("%s seq %d", seg, rec.Seq)))
			}
			return sc.Err()
		}()
		if err != nil {
			return nil, searched, err
		}
	}
	return out, searched, nil
}

func fromAudit(r auditRecord, source string) Explanation {
	p := r.Unmapped.Portcullis
	e := Explanation{Source: source, Session: r.Actor.Session.UID, RequestID: r.API.Request.UID,
		RiskLevel: r.RiskLevel, TraceID: r.Trace.UID, ErrorType: p.ErrorType}
	d := &e.Decision
	d.ID = p.DecisionID
	if t, err := time.Parse(time.RFC3339Nano, r.TimeDT); err == nil {
		d.Time = t
	}
	d.Principal = r.Actor.User.UID
	d.Server = r.API.Service.Name
	d.Method = r.API.Operation
	if len(r.Resources) > 0 {
		d.Tool = r.Resources[0].Name
	}
	d.Plane = p.Plane
	d.Action = p.Decision
	d.WouldAction = p.Decision
	d.Mode = "enforce"
	d.Enforced = true
	if p.Decision == "dry_run" {
		// The audit record says what enforcement would have done and that
		// the call went through, not which rollout mode (dry-run, shadow or
		// staged) softened it; the decision log has the mode.
		d.Action, d.WouldAction, d.Mode, d.Enforced = "allow", p.WouldBe, "", false
	}
	d.Rule = strings.Join(p.RuleIDs, ",")
	d.PolicyVersion = r.Policy.Version
	d.Score = r.RiskScore
	for _, f := range p.RiskFactors {
		d.Factors = append(d.Factors, decisionlog.Factor{Name: f.Name, Score: f.Score, Weight: f.Weight, Reason: f.Reason})
	}
	for _, f := range p.Findings {
		if f.Start != nil && f.End != nil {
			d.Findings = append(d.Findings, decisionlog.Finding{Type: f.Type, Rule: f.Rule, Start: *f.Start, End: *f.End})
			continue
		}
		if e.FindingCounts == nil {
			e.FindingCounts = map[string]int{}
		}
		e.FindingCounts[f.Type] += max(f.Count, 1)
	}
	d.Latency.Total = time.Duration(p.DurationUS) * time.Microsecond
	return e
}

// findInDecisionLog returns the last line of the decision log for id.
func findInDecisionLog(path, id string) (decisionlog.Decision, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return decisionlog.Decision{}, false, fmt.Errorf("decision log: %w", err)
	}
	defer f.Close()
	var found decisionlog.Decision
	ok := false
	needle := `"decision_id":"` + id + `"`
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if !strings.Contains(sc.Text(), needle) {
			continue
		}
		d, err := decisionlog.Parse(sc.Bytes())
		if err != nil {
			return decisionlog.Decision{}, false, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		if d.ID == id {
			found, ok = d, true
		}
	}
	return found, ok, sc.Err()
}

// mergeDecisionLog lets the decision log line, which carries factor weights,
// reasons, finding spans and phase latencies, complete the audit record of
// the same plane (or stand alone when the audit log has no record).
func mergeDecisionLog(exps []Explanation, d decisionlog.Decision, path string) []Explanation {
	for i := range exps {
		if exps[i].Plane == d.Plane || d.Plane == "" {
			keep := exps[i]
			exps[i].Decision = d
			exps[i].DecisionLog = path
			if exps[i].Decision.Time.IsZero() {
				exps[i].Decision.Time = keep.Time
			}
			return exps
		}
	}
	return append(exps, Explanation{Decision: d, Source: path, DecisionLog: path})
}

func writeExplanation(w io.Writer, e Explanation) {
	d := e.Decision
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "decision\t%s\n", d.ID)
	if !d.Time.IsZero() {
		fmt.Fprintf(tw, "time\t%s\n", d.Time.UTC().Format(time.RFC3339Nano))
	}
	call := d.Method
	if d.Server != "" || d.Tool != "" {
		call += " " + d.Server + "/" + d.Tool
	}
	if d.Plane != "" {
		call += " (" + d.Plane + ")"
	}
	if e.RequestID != "" {
		call += ", jsonrpc id " + e.RequestID
	}
	fmt.Fprintf(tw, "call\t%s\n", call)
	who := d.Principal
	if who == "" {
		who = "(anonymous)"
	}
	if e.Session != "" {
		who += ", session " + e.Session
	}
	fmt.Fprintf(tw, "principal\t%s\n", who)
	fmt.Fprintf(tw, "outcome\t%s\n", outcome(d))
	rule := d.Rule
	if rule == "" {
		rule = "(none)"
	}
	if d.PolicyVersion != "" {
		rule += " (policy version " + d.PolicyVersion + ")"
	}
	fmt.Fprintf(tw, "rule\t%s\n", rule)
	risk := fmt.Sprint(d.Score)
	if e.RiskLevel != "" {
		risk += " (" + e.RiskLevel + ")"
	}
	fmt.Fprintf(tw, "risk\t%s\n", risk)
	if e.ErrorType != "" {
		fmt.Fprintf(tw, "error type\t%s\n", e.ErrorType)
	}
	if e.TraceID != "" {
		fmt.Fprintf(tw, "trace\t%s\n", e.TraceID)
	}
	fmt.Fprintf(tw, "source\t%s\n", e.Source)
	if e.DecisionLog != "" && e.DecisionLog != e.Source {
		fmt.Fprintf(tw, "\t%s\n", e.DecisionLog)
	}
	tw.Flush()
	if len(d.Factors) > 0 {
		fmt.Fprintln(w, "factors:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  name\tscore\tweight\treason")
		for _, f := range d.Factors {
			weight, reason := "-", f.Reason
			if f.Weight != 0 {
				weight = fmt.Sprint(f.Weight)
			}
			if reason == "" {
				reason = "-"
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", f.Name, f.Score, weight, reason)
		}
		tw.Flush()
		if e.DecisionLog == "" && !explained(d.Factors) {
			// Audit records written before weights and reasons were recorded.
			fmt.Fprintln(w, "  (weights and reasons come from the decision log: set log.decisions and pass --decision-log)")
		}
	}
	if len(d.Findings) > 0 || len(e.FindingCounts) > 0 {
		fmt.Fprintln(w, "findings (content is never recorded):")
		for _, f := range d.Findings {
			line := "  " + f.Type
			if f.Rule != "" {
				line += "  rule " + f.Rule
			}
			var loc []string
			if f.Path != "" {
				loc = append(loc, f.Path)
			}
			if f.End > f.Start {
				loc = append(loc, fmt.Sprintf("[%d,%d)", f.Start, f.End))
			}
			if len(loc) > 0 {
				line += "  at " + strings.Join(loc, " ")
			}
			if f.N() > 1 {
				line += fmt.Sprintf(" ×%d", f.N())
			}
			fmt.Fprintln(w, line)
		}
		types := make([]string, 0, len(e.FindingCounts))
		for t := range e.FindingCounts {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			fmt.Fprintf(w, "  %s ×%d\n", t, e.FindingCounts[t])
		}
	}
	var phases []string
	d.Latency.Each(func(p string, dur time.Duration) {
		if dur > 0 {
			phases = append(phases, fmt.Sprintf("%s %s", p, dur))
		}
	})
	if len(phases) > 0 {
		fmt.Fprintf(w, "latency: %s\n", strings.Join(phases, ", "))
	}
}

// outcome says in words what happened and, when they differ, what enforce
// mode would have done.
func outcome(d decisionlog.Decision) string {
	s := d.Action
	if d.Enforced || d.WouldAction == "" || d.WouldAction == d.Action {
		if d.Mode != "" {
			s += " (enforced, mode " + d.Mode + ")"
		}
		return s
	}
	if d.Mode == "" {
		return fmt.Sprintf("%s (not enforced; enforce mode would %s)", s, d.WouldAction)
	}
	return fmt.Sprintf("%s (not enforced: mode %s; enforce mode would %s)", s, d.Mode, d.WouldAction)
}

// explained reports whether any factor carries a weight or a reason.
func explained(fs []decisionlog.Factor) bool {
	for _, f := range fs {
		if f.Weight != 0 || f.Reason != "" {
			return true
		}
	}
	return false
}
