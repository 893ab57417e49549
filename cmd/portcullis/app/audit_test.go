package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/audit"
)

func auditExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return -1
}

func TestAuditKeygenAndVerify(t *testing.T) {
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "ck")
	var out, errOut bytes.Buffer
	require.NoError(t, Main(context.Background(), []string{"audit", "keygen", "--out", prefix}, &out, &errOut))
	require.Contains(t, out.String(), "key id")
	// Refuses to overwrite.
	require.Error(t, Main(context.Background(), []string{"audit", "keygen", "--out", prefix}, &out, &errOut))

	dir := filepath.Join(tmp, "audit")
	cfg := audit.Config{Dir: dir}
	cfg.ApplyDefaults()
	cfg.Checkpoint.KeyFile = prefix + ".key"
	l, err := audit.Open(cfg)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		r := audit.NewRecord(audit.PlaneRequest, audit.DecisionAllow)
		r.Tool = "t"
		require.NoError(t, l.Append(r))
	}
	require.NoError(t, l.Close())

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"valid with pubkey", []string{"audit", "verify", dir, "--pubkey", prefix + ".pub"}, 0, "10/10 records valid"},
		{"flags first", []string{"audit", "verify", "--pubkey", prefix + ".pub", dir}, 0, "VALID"},
		{"json", []string{"audit", "verify", "--json", dir}, 0, `"records_valid": 10`},
		{"missing dir", []string{"audit", "verify", filepath.Join(tmp, "nope")}, 2, ""},
		{"bad pubkey file", []string{"audit", "verify", dir, "--pubkey", filepath.Join(tmp, "nope.pub")}, 2, ""},
		{"no args", []string{"audit", "verify"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Main(context.Background(), tc.args, &out, &errOut)
			require.Equal(t, tc.code, auditExitCode(err), "%v\n%s", err, out.String())
			require.Contains(t, out.String(), tc.want)
		})
	}

	// Any single edit makes it fail with exit 1 and a precise message.
	seg := filepath.Join(dir, "seg-00000001.jsonl")
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(seg, bytes.Replace(data, []byte(`"name":"t"`), []byte(`"name":"x"`), 1), 0o600))
	out.Reset()
	err = Main(context.Background(), []string{"audit", "verify", dir, "--pubkey", prefix + ".pub"}, &out, &errOut)
	require.Equal(t, 1, auditExitCode(err))
	require.Contains(t, out.String(), "INVALID: record 1 at seg-00000001.jsonl:1: edited: content does not match its hash")
}
