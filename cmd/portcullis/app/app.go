// Package app is the testable body of the portcullis command: Main parses the
// sub-command and runs it. Each sub-command lives in its own file and
// registers itself in commands, so adding one touches one file.
//
// Main owns the command-line contract shared by every sub-command:
// -h/--help anywhere before "--" prints that command's usage once on stdout
// and exits 0; a usage error exits 2 with one line on stderr naming the
// command and pointing at its --help.
package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
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
	// usage marks a command-line mistake (flags, arguments): Main points
	// at the command's --help.
	usage bool
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
	if len(args) == 0 {
		usage(stderr)
		return &ExitError{Code: 2}
	}
	if isHelp(args[0]) || args[0] == "help" {
		if args[0] == "help" && len(args) > 1 {
			// "portcullis help audit verify" = "portcullis audit verify --help".
			return Main(ctx, append(slices.Clone(args[1:]), "--help"), stdout, stderr)
		}
		usage(stdout)
		return nil
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	c, rest, ok := lookup(args)
	if !ok {
		return unknown(args, stdout)
	}
	if wantsHelp(rest) {
		return commandHelp(ctx, c, stdout)
	}
	err := c.run(ctx, rest, stdout, stderr)
	if errors.Is(err, errHelp) || errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return oneLine(c.name, err)
}

// lookup finds the longest command name that prefixes args, so
// "audit verify" wins over a hypothetical "audit".
func lookup(args []string) (command, []string, bool) {
	best, bestWords := -1, 0
	for i, c := range commands {
		words := strings.Fields(c.name)
		if len(words) <= len(args) && slices.Equal(words, args[:len(words)]) && len(words) > bestWords {
			best, bestWords = i, len(words)
		}
	}
	if best < 0 {
		return command{}, nil, false
	}
	return commands[best], args[bestWords:], true
}

// unknown handles args that name no command: a group of sub-commands
// ("audit", "policy --help") prints the group's commands; anything else is a
// one-line usage error.
func unknown(args []string, stdout io.Writer) error {
	group := args[0]
	var subs []command
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			subs = append(subs, c)
		}
	}
	if len(subs) == 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("unknown command %q; run 'portcullis --help' for the list", group)}
	}
	if len(args) > 1 && !isHelp(args[1]) {
		return &ExitError{Code: 2, Err: fmt.Errorf("unknown command %q; run 'portcullis %s --help' for the list", group+" "+args[1], group)}
	}
	if len(args) == 1 {
		return &ExitError{Code: 2, Err: fmt.Errorf("%s: missing sub-command; run 'portcullis %s --help' for the list", group, group)}
	}
	fmt.Fprintf(stdout, "usage: portcullis %s <command> [flags]\n\ncommands:\n", group)
	listCommands(stdout, subs)
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: portcullis <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	listCommands(w, commands)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'portcullis <command> --help' for a command's arguments and flags.")
}

func listCommands(w io.Writer, cs []command) {
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b command) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "--h" }

// wantsHelp reports whether a help flag appears before "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}

// commandHelp prints "usage: portcullis SYNOPSIS", the summary and the flags
// once on stdout. The flag list is produced by the command's own flag set:
// running it with just -h stops at flag parsing (every command parses flags
// before doing anything), and the flag package writes its defaults to the
// stderr it is given.
func commandHelp(ctx context.Context, c command, stdout io.Writer) error {
	var buf bytes.Buffer
	_ = c.run(ctx, []string{"-h"}, io.Discard, &buf)
	syn := synopses[c.name]
	if syn == "" {
		syn = c.name + " [flags]"
	}
	defs, notes := splitUsage(buf.String())
	fmt.Fprintf(stdout, "usage: portcullis %s\n\n%s\n", syn, c.summary)
	if notes != "" {
		fmt.Fprintf(stdout, "%s", notes)
	}
	if defs != "" {
		fmt.Fprintf(stdout, "\nflags:\n%s", defs)
	}
	return nil
}

// splitUsage separates what a command's flag set printed for -h into the
// flag.PrintDefaults lines ("  -name type" and their indented descriptions)
// and any notes the command added, dropping usage lines it printed itself so
// the synopsis appears exactly once.
func splitUsage(s string) (defs, notes string) {
	var d, n strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		switch {
		case strings.HasPrefix(l, "  -") || strings.HasPrefix(l, "    "):
			d.WriteString(l)
		case strings.TrimSpace(l) == "", strings.HasPrefix(strings.ToLower(l), "usage"):
		default:
			n.WriteString(l)
		}
	}
	return d.String(), n.String()
}

// oneLine turns a command's exit-2 error into one line that names the
// command, pointing at its help when the command line was at fault; other
// errors pass through unchanged.
func oneLine(name string, err error) error {
	var ee *ExitError
	if err == nil || !errors.As(err, &ee) || ee.Code != 2 || ee.Err == nil {
		return err
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(ee.Err.Error(), "\n", "; ")), " ")
	if !strings.HasPrefix(msg, name+":") {
		msg = name + ": " + msg
	}
	if ee.usage {
		msg += fmt.Sprintf(" (see 'portcullis %s --help')", name)
	}
	return &ExitError{Code: 2, Err: errors.New(msg)}
}

// newFlags returns a flag set that never prints by itself: parse errors
// come back as one-line errors, help is handled by parseFlags. A command may
// set fs.Usage to add notes to its help; it must write to fs.Output() and
// call fs.PrintDefaults().
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args with fs. On -h it writes the flag defaults (or the
// command's own fs.Usage) to stderr, where Main's help collects them, and
// returns errHelp; a parse error becomes a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		if fs.Usage != nil {
			fs.Usage()
		} else {
			fs.PrintDefaults()
		}
		fs.SetOutput(io.Discard)
		return errHelp
	}
	if err != nil {
		return &ExitError{Code: 2, Err: err, usage: true}
	}
	return nil
}

// usageError wraps flag problems with exit code 2.
func usageError(err error) error {
	if errors.Is(err, errHelp) || errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return &ExitError{Code: 2, Err: err, usage: true}
}

var errHelp = errors.New("help requested")
