package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/policytest"
)

func init() {
	register(command{name: "policy check", summary: "validate a policy file: OK or one report listing every problem", run: runPolicyCheck})
	register(command{name: "policy test", summary: "run table cases against a policy (PASS/FAIL per case)", run: runPolicyTest})
}

// runPolicyCheck: portcullis policy check FILE. Exit 0 OK, 1 invalid.
func runPolicyCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy check")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(errors.New("policy check: want exactly one FILE"))
	}
	p, err := policy.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stdout, "INVALID %s\n%v\n", fs.Arg(0), err)
		return &ExitError{Code: 1, Err: errors.New("policy is invalid")}
	}
	fmt.Fprintf(stdout, "OK %s (policy %s, version %s)\n", fs.Arg(0), p.Name(), p.Version())
	return nil
}

// runPolicyTest: portcullis policy test [-v] [-coverage] FILE CASES.
// Exit 0 all pass, 1 any failure (or missing coverage with -coverage).
func runPolicyTest(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("policy test")
	verbose := fs.Bool("v", false, "print each decision's factors")
	cover := fs.Bool("coverage", false, "fail unless the cases cover every action, mode and factor")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError(errors.New("policy test: want FILE and CASES"))
	}
	p, err := policy.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stdout, "INVALID %s\n%v\n", fs.Arg(0), err)
		return &ExitError{Code: 1, Err: errors.New("policy is invalid")}
	}
	suite, err := policytest.Load(fs.Arg(1))
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	results := policytest.Run(p, suite)
	failed := 0
	for _, r := range results {
		status := "PASS"
		if !r.Pass {
			status = "FAIL"
			failed++
		}
		d := r.Decision
		if d.ID != "" {
			fmt.Fprintf(stdout, "%s: %s (action=%s would=%s rule=%s mode=%s score=%d)\n", status, r.Name, d.Action, d.WouldAction, d.Rule, d.Mode, d.Score)
		} else {
			fmt.Fprintf(stdout, "%s: %s\n", status, r.Name)
		}
		for _, f := range r.Failures {
			fmt.Fprintf(stdout, "    %s\n", f)
		}
		if *verbose {
			for _, f := range d.Factors {
				fmt.Fprintf(stdout, "    %-16s %3d ×%-3d %s\n", f.Name, f.Value, f.Weight, f.Reason)
			}
		}
	}
	fmt.Fprintln(stdout, "--------------------------------------------------------------------------------")
	fmt.Fprintf(stdout, "PASS: %d/%d\n", len(results)-failed, len(results))
	if failed > 0 {
		fmt.Fprintf(stdout, "FAIL: %d/%d\n", failed, len(results))
	}
	missing := policytest.Coverage(results)
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "NOT COVERED: %v\n", missing)
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d cases failed", failed, len(results))}
	}
	if *cover && len(missing) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("coverage incomplete: %v", missing)}
	}
	return nil
}
