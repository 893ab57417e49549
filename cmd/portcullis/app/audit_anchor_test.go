package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/audit"
)

// Issue 11 #21: with --pubkey, a log whose checkpoints were deleted or
// whose newest checkpoints were removed fails with exit 1 and says why.
func TestAuditVerifyRequiresCheckpoints(t *testing.T) {
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "ck")
	var out, errOut bytes.Buffer
	require.NoError(t, Main(context.Background(), []string{"audit", "keygen", "--out", prefix}, &out, &errOut))
	write := func() string {
		dir := filepath.Join(t.TempDir(), "audit")
		cfg := audit.Config{Dir: dir}
		cfg.ApplyDefaults()
		cfg.Checkpoint.KeyFile = prefix + ".key"
		l, err := audit.Open(cfg)
		require.NoError(t, err)
		for i := 0; i < 5; i++ {
			r := audit.NewRecord(audit.PlaneRequest, audit.DecisionAllow)
			r.Tool = "t"
			require.NoError(t, l.Append(r))
		}
		require.NoError(t, l.Close())
		return dir
	}
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name   string
		tamper func(dir string)
		extra  []string
		code   int
		want   string
	}{
		{"intact", func(string) {}, nil, 0, "VALID"},
		{"intact, judged later", func(string) {}, []string{"--as-of", later}, 0, "VALID"},
		{"checkpoints deleted", func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "checkpoints.jsonl"))) },
			nil, 1, "INVALID: checkpoints.jsonl: unanchored: no signed checkpoint covers the log (5 records)"},
		{"bad --as-of", func(string) {}, []string{"--as-of", "yesterday"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := write()
			tc.tamper(dir)
			var out, errOut bytes.Buffer
			args := append([]string{"audit", "verify", dir, "--pubkey", prefix + ".pub"}, tc.extra...)
			err := Main(context.Background(), args, &out, &errOut)
			require.Equal(t, tc.code, auditExitCode(err), "%v\n%s", err, out.String())
			require.Contains(t, out.String(), tc.want)
		})
	}
}
