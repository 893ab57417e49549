package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

func init() {
	register(command{name: "version", summary: "print the module version, VCS commit and Go version of this binary", run: runVersion})
}

// buildInfo is what `portcullis version` reports, read from the binary's
// embedded build information (go build stamps module and VCS data).
type buildInfo struct {
	Module    string `json:"module"`
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	CommitAt  string `json:"commit_time,omitempty"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
}

// readBuildInfo is a variable so tests can feed fixed build information.
var readBuildInfo = debug.ReadBuildInfo

// version and commit override the build information when set with
// -ldflags "-X github.com/portcullis-mcp/portcullis/cmd/portcullis/app.version=v1.2.3
// -X ...app.commit=abc123", for builds made with -buildvcs=false or from a
// source archive without .git.
var version, commit string

func currentBuild() buildInfo {
	b := buildInfo{Module: "github.com/portcullis-mcp/portcullis", Version: "(unknown)", Commit: "(unknown)", GoVersion: "(unknown)"}
	bi, ok := readBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = bi.GoVersion
	if bi.Main.Path != "" {
		b.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitAt = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func overridden(b buildInfo) buildInfo {
	if version != "" {
		b.Version = version
	}
	if commit != "" {
		b.Commit = commit
	}
	return b
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(errors.New("version: unexpected arguments"))
	}
	b := overridden(currentBuild())
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	}
	commit := b.Commit
	if b.Modified {
		commit += " (modified)"
	}
	if b.CommitAt != "" {
		commit += " " + b.CommitAt
	}
	fmt.Fprintf(stdout, "portcullis %s\nmodule:  %s\ncommit:  %s\ngo:      %s\n", b.Version, b.Module, commit, b.GoVersion)
	return nil
}
