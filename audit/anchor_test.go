package audit

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// signedLog writes 30 records with a configured key (checkpoints at 10, 20
// and a closing one at 30) and returns the directory and the public key.
func signedLog(t *testing.T) (string, ed25519.PublicKey) {
	t.Helper()
	priv, _, err := GenerateKey()
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "ck.key")
	require.NoError(t, os.WriteFile(keyFile, priv, 0o600))
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Checkpoint.KeyFile = keyFile
	cfg.Checkpoint.Interval = time.Second
	cfg.Checkpoint.Idle = time.Minute
	writeLog(t, cfg, 30)
	k, err := ReadPrivateKey(keyFile)
	require.NoError(t, err)
	return dir, k.Public().(ed25519.PublicKey)
}

// Issue 11 #21: with a signing key, missing or stale checkpoints must fail
// verification; they used to verify VALID.
func TestVerifyRequiresAnchoredTail(t *testing.T) {
	seg1 := segmentName(1)
	dropCheckpoints := func(keep int) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, checkpointsFile)
			writeLines(t, p, readLines(t, p)[:keep])
		}
	}
	truncateLog := func(n int) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			writeLines(t, p, readLines(t, p)[:n])
		}
	}
	tests := []struct {
		name   string
		tamper []func(t *testing.T, dir string)
		after  time.Duration // verify this long after the log was written
		reason Reason        // "" = valid
		detail string
	}{
		{"intact, verified now", nil, 0, "", ""},
		{"intact, verified much later (closed log)", nil, 24 * time.Hour, "", ""},
		{"checkpoints file deleted", []func(*testing.T, string){func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, checkpointsFile)))
		}}, 0, ReasonUnanchored, "no signed checkpoint covers the log (30 records)"},
		{"log edited and re-chained, checkpoints deleted", []func(*testing.T, string){func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			lines[2] = editRec(t, lines[2], "actor.user.uid", "someone-else")
			var prev [32]byte
			for i := range lines {
				if len(lines[i]) > 0 {
					lines[i], prev = rehash(t, lines[i], prev)
				}
			}
			writeLines(t, p, lines)
			require.NoError(t, os.Remove(filepath.Join(dir, checkpointsFile)))
		}}, 0, ReasonUnanchored, "no signed checkpoint"},
		{"closing checkpoint removed", []func(*testing.T, string){dropCheckpoints(2)}, 0, ReasonUnanchored, "10 records follow the newest signed checkpoint (size 20"},
		{"closing checkpoint removed and tail truncated, verified now", []func(*testing.T, string){dropCheckpoints(2), truncateLog(25)}, 0, "", ""},
		{"closing checkpoint removed and tail truncated, verified later", []func(*testing.T, string){dropCheckpoints(2), truncateLog(25)}, 5 * time.Minute, ReasonStale, "record 21 (written"},
		{"truncated exactly to a checkpoint, verified later", []func(*testing.T, string){dropCheckpoints(2), truncateLog(20)}, 10 * time.Minute, ReasonStale, "is not a closing checkpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, pub := signedLog(t)
			for _, f := range tc.tamper {
				f(t, dir)
			}
			rep, err := VerifyWith(dir, VerifyOptions{Keys: []ed25519.PublicKey{pub}, Now: time.Now().Add(tc.after)})
			require.NoError(t, err)
			if tc.reason == "" {
				require.True(t, rep.Valid(), "%v", rep.Break)
				return
			}
			require.NotNil(t, rep.Break, "must fail verification")
			require.Equal(t, tc.reason, rep.Break.Reason, rep.Break.String())
			require.Contains(t, rep.Break.String(), tc.detail)

			// Without a trusted key the same finding is a warning.
			rep, err = VerifyWith(dir, VerifyOptions{Now: time.Now().Add(tc.after)})
			require.NoError(t, err)
			require.True(t, rep.Valid(), "%v", rep.Break)
			require.NotEmpty(t, rep.Warnings)
		})
	}
}

// An idle log keeps writing checkpoints, so a quiet log stays verifiable
// while a truncated one goes stale.
func TestIdleHeartbeatCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Checkpoint.Interval = 5 * time.Millisecond
	cfg.Checkpoint.Idle = 5 * time.Millisecond
	l, err := Open(cfg)
	require.NoError(t, err)
	require.NoError(t, l.Append(sampleRecord(1)))
	require.Eventually(t, func() bool { return l.Stats().Checkpoints >= 4 }, 20*time.Second, 5*time.Millisecond,
		"no heartbeat checkpoints without new records")
	require.NoError(t, l.Close())
	cps := readLines(t, filepath.Join(dir, checkpointsFile))
	last, err := parseCheckpoint(cps[len(cps)-2]) // the last element is empty
	require.NoError(t, err)
	require.True(t, last.Final)
	require.EqualValues(t, 1, last.Size)
	require.EqualValues(t, 5, last.IdleMS)
}

// Truncating a log back to the end of an earlier run (with its
// checkpoints.jsonl) looks like that run's end from inside the directory;
// a copy of the later checkpoints held elsewhere (a sink, a witness)
// contradicts it.
func TestVerifyExternalCheckpointsDetectTruncationToEarlierRun(t *testing.T) {
	priv, _, err := GenerateKey()
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "ck.key")
	require.NoError(t, os.WriteFile(keyFile, priv, 0o600))
	k, err := ReadPrivateKey(keyFile)
	require.NoError(t, err)
	pub := k.Public().(ed25519.PublicKey)
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Checkpoint.KeyFile = keyFile
	writeLog(t, cfg, 5) // first run: closing checkpoint at 5
	seg := filepath.Join(dir, segmentName(1))
	cpPath := filepath.Join(dir, checkpointsFile)
	firstRunLog, firstRunCps := readLines(t, seg), readLines(t, cpPath)
	writeLog(t, cfg, 5) // second run: closing checkpoint at 10
	external := filepath.Join(t.TempDir(), "siem-checkpoints.jsonl")
	data, err := os.ReadFile(cpPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(external, data, 0o600))

	writeLines(t, seg, firstRunLog)
	writeLines(t, cpPath, firstRunCps)
	rep, err := VerifyWith(dir, VerifyOptions{Keys: []ed25519.PublicKey{pub}})
	require.NoError(t, err)
	require.True(t, rep.Valid(), "from inside the directory the truncation is invisible: %v", rep.Break)

	rep, err = VerifyWith(dir, VerifyOptions{Keys: []ed25519.PublicKey{pub}, CheckpointFiles: []string{external}})
	require.NoError(t, err)
	require.NotNil(t, rep.Break)
	require.Equal(t, ReasonDeleted, rep.Break.Reason, rep.Break.String())
	require.Contains(t, rep.Break.String(), "log truncated: signed checkpoint")
	require.Positive(t, rep.External)

	_, err = VerifyWith(dir, VerifyOptions{Keys: []ed25519.PublicKey{pub}, CheckpointFiles: []string{filepath.Join(dir, "nope")}})
	require.Error(t, err, "an unreadable copy means the log could not be verified")
}
