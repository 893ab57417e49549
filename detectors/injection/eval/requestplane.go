package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/portcullis-mcp/portcullis/detectors"
	"github.com/portcullis-mcp/portcullis/detectors/injection"
)

// The gateway's built-in request-plane rule, restated here because the
// gateway and extproc packages are far too large a dependency for this
// command: a tool call's arguments are refused when a request-plane
// injection finding scores at least refuseAt
// (extproc.RequestPlaneInjectionMinConfidence) and the result-plane model
// scores the same value at least corroborateAt (gateway's
// minCorroboration). Keep the three in step.
const (
	refuseAt      = 0.5
	corroborateAt = 0.05
)

// argJudge applies the rule with the engine the gateway uses (ScanJSON of
// the arguments document, request plane, then the result plane when the
// request plane flagged injection).
type argJudge struct{ req, res *detectors.Engine }

func newArgJudge(d *injection.Detector) (*argJudge, error) {
	req, err := detectors.NewEngine(detectors.Options{Injection: detectors.InjectionFrom(d), Plane: injection.PlaneRequest})
	if err != nil {
		return nil, fmt.Errorf("request-plane engine: %w", err)
	}
	res, err := detectors.NewEngine(detectors.Options{Injection: detectors.InjectionFrom(d), Plane: injection.PlaneResult})
	if err != nil {
		return nil, fmt.Errorf("result-plane engine: %w", err)
	}
	return &argJudge{req: req, res: res}, nil
}

// judge reports whether the request plane flags injection in raw (an
// audited finding) and whether the built-in rule refuses the call.
func (j *argJudge) judge(raw []byte) (flagged, refused bool, err error) {
	rep, err := j.req.ScanJSON(raw)
	if err != nil {
		return false, false, fmt.Errorf("request-plane scan: %w", err)
	}
	var confs []float64
	for _, f := range rep.Findings {
		if f.Detector == detectors.DetInjection {
			confs = append(confs, f.Confidence)
		}
	}
	if rep.Injection.Flagged && len(confs) == 0 {
		confs = append(confs, rep.Injection.Score)
	}
	if len(confs) == 0 {
		return false, false, nil
	}
	high := false
	for _, c := range confs {
		high = high || c >= refuseAt
	}
	if !high {
		return true, false, nil
	}
	res, err := j.res.ScanJSON(raw)
	if err != nil {
		return true, false, fmt.Errorf("result-plane scan: %w", err)
	}
	return true, res.Injection.Score >= corroborateAt, nil
}

// argRow is one line of gateway/testdata/attacks/request_arguments.jsonl.
type argRow struct {
	Kind      string          `json:"kind"`
	Injection bool            `json:"injection"`
	Arguments json.RawMessage `json:"arguments"`
}

func loadArgRows(path string) ([]argRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("request arguments: %w", err)
	}
	defer f.Close()
	var out []argRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || (len(line) > 1 && line[0] == '/' && line[1] == '/') {
			continue
		}
		var r argRow
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("request arguments %s: %w", path, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("request arguments %s: %w", path, err)
	}
	return out, nil
}

// requestPlane prints the built-in argument rule on held-out harmless
// chunks as {"content": chunk}, the excluded public prompt sets as
// {"q": prompt} and the gateway's hand-written argument corpus.
func requestPlane(d *injection.Detector, evalDocs []injection.Chunk, rows []injection.Row, argsPath string) error {
	j, err := newArgJudge(d)
	if err != nil {
		return err
	}
	type tally struct{ n, flagged, refused int }
	var harm, promptsNeg, promptsPos, argsNeg, argsPos tally
	add := func(t *tally, key string, text string) error {
		raw, err := json.Marshal(map[string]string{key: text})
		if err != nil {
			return fmt.Errorf("encode argument: %w", err)
		}
		fl, rf, err := j.judge(raw)
		if err != nil {
			return err
		}
		t.n++
		if fl {
			t.flagged++
		}
		if rf {
			t.refused++
		}
		return nil
	}
	for _, c := range evalDocs {
		if err := add(&harm, "content", c.Text); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if injection.SplitOfRow(r) != injection.SplitEval {
			continue
		}
		t := &promptsNeg
		if r.Label == 1 {
			t = &promptsPos
		}
		if err := add(t, "q", r.Text); err != nil {
			return err
		}
	}
	args, err := loadArgRows(argsPath)
	if err != nil {
		return err
	}
	for _, a := range args {
		fl, rf, err := j.judge(a.Arguments)
		if err != nil {
			return err
		}
		t := &argsNeg
		if a.Injection {
			t = &argsPos
		}
		t.n++
		if fl {
			t.flagged++
		}
		if rf {
			t.refused++
		}
	}
	fmt.Printf("== request plane: tool-call arguments under the gateway's built-in rule (refused at request-plane score >= %.2f with result-plane score >= %.2f; flagged = audited finding at the request-plane threshold %.3f)\n", refuseAt, corroborateAt, d.Threshold(injection.PlaneRequest))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "arguments\tlabel\tn\tflagged\trefused\t")
	for _, x := range []struct {
		name, label string
		t           tally
	}{
		{`{"content": held-out harmless chunk}`, "harmless", harm},
		{`{"q": excluded public-set row}`, "harmless", promptsNeg},
		{`{"q": excluded public-set row}`, "injection", promptsPos},
		{"request_arguments.jsonl (gateway tests)", "harmless", argsNeg},
		{"request_arguments.jsonl (gateway tests)", "injection", argsPos},
	} {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d (%s)\t%d (%s)\t\n", x.name, x.label, x.t.n, x.t.flagged, rate(x.t.flagged, x.t.n-x.t.flagged), x.t.refused, rate(x.t.refused, x.t.n-x.t.refused))
	}
	w.Flush()
	fmt.Println()
	return nil
}
