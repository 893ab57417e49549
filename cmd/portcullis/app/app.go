// Package app is the testable body of the portcullis command: Main parses the
// sub-command and runs it. Each sub-command lives in its own file and
// registers itself in commands, so adding one touches one file.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ExitError carries a specific process exit code (for example audit verify's
// 0 valid / 1 invalid / 2 could not verify).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// command is one sub-command. Names may contain a space ("audit verify").
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

// Main runs the portcullis command line with args (without the program name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return &ExitError{Code: 2}
		}
		return nil
	}
	// Longest match first so "audit verify" wins over "audit".
	best := -1
	bestWords := 0
	for i, c := range commands {
		words := strings.Fields(c.name)
		if len(words) <= len(args) && slices.Equal(words, args[:len(words)]) && len(words) > bestWords {
			best, bestWords = i, len(words)
		}
	}
	if best < 0 {
		usage(stderr)
		return &ExitError{Code: 2, Err: fmt.Errorf("unknown command %q", strings.Join(args, " "))}
	}
	return commands[best].run(ctx, args[bestWords:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: portcullis <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	sorted := slices.Clone(commands)
	slices.SortFunc(sorted, func(a, b command) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}

// usageError wraps flag problems with exit code 2.
func usageError(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return &ExitError{Code: 2, Err: err}
}

var errHelp = errors.New("help requested")
