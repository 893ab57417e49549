package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/audit"
)

func init() {
	register(command{name: "audit verify", summary: "verify an audit directory's hash chain and signed checkpoints (exit 0 valid, 1 invalid, 2 could not verify)", run: runAuditVerify})
	register(command{name: "audit keygen", summary: "write a new Ed25519 checkpoint key pair (PREFIX.key, PREFIX.pub)", run: runAuditKeygen})
}

// interleave moves positional arguments after the flags so that
// "verify DIR --pubkey F" and "verify --pubkey F DIR" both parse.
func auditInterleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") {
				if f := fs.Lookup(name); f != nil {
					if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
						if i+1 < len(args) {
							flags = append(flags, args[i+1])
							i++
						}
					}
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// runAuditVerify: portcullis audit verify DIR [--pubkey FILE]... [--json].
func runAuditVerify(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit verify")
	var pubFiles auditMultiFlag
	fs.Var(&pubFiles, "pubkey", "trusted checkpoint public key (PEM); repeatable. Default: the keys in DIR (not independent)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var cpFiles auditMultiFlag
	fs.Var(&cpFiles, "checkpoints", "a copy of signed checkpoints kept outside DIR (one JSON checkpoint per line, e.g. exported from a sink); repeatable")
	asOf := fs.String("as-of", "", "judge checkpoint deadlines at this RFC 3339 time, e.g. when a copy of DIR was taken (default: now)")
	if err := parseFlags(fs, auditInterleave(fs, args), stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(errors.New("audit verify: want exactly one DIR"))
	}
	var pubs []ed25519.PublicKey
	for _, f := range pubFiles {
		k, err := audit.ReadPublicKey(f)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("audit verify: %w", err)}
		}
		pubs = append(pubs, k)
	}
	opt := audit.VerifyOptions{Keys: pubs, CheckpointFiles: cpFiles}
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("audit verify: --as-of: want an RFC 3339 time such as 2026-11-24T13:00:00Z: %w", err)}
		}
		opt.Now = t
	}
	rep, err := audit.VerifyWith(fs.Arg(0), opt)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("audit verify: could not verify: %w", err)}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
	} else {
		rep.WriteText(stdout)
	}
	if !rep.Valid() {
		return &ExitError{Code: 1, Err: fmt.Errorf("audit log INVALID: %s", rep.Break)}
	}
	return nil
}

// runAuditKeygen: portcullis audit keygen [--out PREFIX].
func runAuditKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit keygen")
	out := fs.String("out", "audit-checkpoint", "write PREFIX.key (private, mode 0600) and PREFIX.pub")
	force := fs.Bool("force", false, "overwrite existing files")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError(errors.New("audit keygen: unexpected arguments"))
	}
	priv, pub, err := audit.GenerateKey()
	if err != nil {
		return err
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	for _, f := range []struct {
		path string
		data []byte
		perm os.FileMode
	}{{*out + ".key", priv, 0o600}, {*out + ".pub", pub, 0o644}} {
		fh, err := os.OpenFile(f.path, mode, f.perm)
		if err != nil {
			return fmt.Errorf("audit keygen: %w", err)
		}
		if _, err := fh.Write(f.data); err != nil {
			fh.Close()
			return fmt.Errorf("audit keygen: %w", err)
		}
		if err := fh.Close(); err != nil {
			return fmt.Errorf("audit keygen: %w", err)
		}
	}
	k, err := audit.ReadPublicKey(*out + ".pub")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s.key and %s.pub (key id %s)\n", *out, *out, audit.KeyID(k))
	fmt.Fprintf(stdout, "set audit.checkpoint.key_file: %s.key; verify with: portcullis audit verify DIR --pubkey %s.pub\n", *out, *out)
	return nil
}

type auditMultiFlag []string

func (m *auditMultiFlag) String() string     { return strings.Join(*m, ",") }
func (m *auditMultiFlag) Set(s string) error { *m = append(*m, s); return nil }
