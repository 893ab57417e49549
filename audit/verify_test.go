package audit

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/sjson"
)

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return bytes.SplitAfter(data, []byte{'\n'})
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, bytes.Join(lines, nil), 0o600))
}

// editRec rewrites a field inside line's record without fixing the hash.
func editRec(t *testing.T, ln []byte, path, value string) []byte {
	t.Helper()
	out, err := sjson.SetBytes(bytes.TrimSuffix(ln, []byte{'\n'}), "rec."+path, value)
	require.NoError(t, err)
	return append(out, '\n')
}

// rehash recomputes a line's hash over its own (possibly edited) record and
// given prev, as an attacker without the signing key could.
func rehash(t *testing.T, ln []byte, prev [32]byte) ([]byte, [32]byte) {
	t.Helper()
	p, err := parseLine(bytes.TrimSuffix(ln, []byte{'\n'}))
	require.NoError(t, err)
	rec := bytes.Replace(p.rec, []byte(hexOf(p.prev)), []byte(hexOf(prev)), 1)
	h := chainHash(prev, rec)
	return []byte(linePrefix + string(rec) + lineHashKey + hexOf(h) + "\"}\n"), h
}

func hexOf(b [32]byte) string { return hexString(b[:]) }

func hexString(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&0xf])
	}
	return string(out)
}

func TestVerifyDetectsTampering(t *testing.T) {
	seg1 := segmentName(1)
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		reason Reason
		seq    uint64
		detail string
	}{
		{"edit field", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			lines[4] = editRec(t, lines[4], "resources.0.name", "delete_repo")
			writeLines(t, p, lines)
		}, ReasonEdited, 5, "content does not match its hash"},
		{"edit decision and rehash only that record", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			prev, err := parseLine(bytes.TrimSuffix(lines[6], []byte{'\n'}))
			require.NoError(t, err)
			lines[6], _ = rehash(t, editRec(t, lines[6], "disposition", "Blocked"), prev.prev)
			writeLines(t, p, lines)
		}, ReasonEdited, 7, "was rewritten"},
		{"edit and rehash the whole chain", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			var prev [32]byte
			lines[2] = editRec(t, lines[2], "actor.user.uid", "someone-else")
			for i := range lines {
				if len(lines[i]) == 0 {
					continue
				}
				lines[i], prev = rehash(t, lines[i], prev)
			}
			writeLines(t, p, lines)
		}, ReasonEdited, 10, "chain rewritten: signed checkpoint"},
		{"delete a record", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			writeLines(t, p, append(lines[:3:3], lines[4:]...))
		}, ReasonDeleted, 4, "records 4..4 are missing"},
		{"swap two records", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			lines[3], lines[4] = lines[4], lines[3]
			writeLines(t, p, lines)
		}, ReasonReordered, 5, "expected record 4 here, found 5"},
		{"duplicate a record", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			out := append([][]byte{}, lines[:5]...)
			out = append(out, lines[2])
			writeLines(t, p, append(out, lines[5:]...))
		}, ReasonInserted, 3, "appears after record 5"},
		{"insert a forged well-chained record", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			prev, err := parseLine(bytes.TrimSuffix(lines[4], []byte{'\n'}))
			require.NoError(t, err)
			forged, _ := rehash(t, editRec(t, lines[5], "api.request.uid", "forged"), prev.hash)
			out := append([][]byte{}, lines[:5]...)
			out = append(out, forged)
			writeLines(t, p, append(out, lines[5:]...))
		}, ReasonInserted, 6, "inserted record"},
		{"truncate the tail", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			writeLines(t, p, lines[:20])
		}, ReasonDeleted, 21, "log truncated"},
		{"delete a segment", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, segmentName(2))))
		}, ReasonDeleted, 0, "segment-missing"},
		{"cut a record in half inside the log", func(t *testing.T, dir string) {
			p := filepath.Join(dir, seg1)
			lines := readLines(t, p)
			lines[3] = lines[3][:40]
			writeLines(t, p, lines)
		}, ReasonEdited, 4, "not a well-formed record"},
		{"edit a checkpoint", func(t *testing.T, dir string) {
			p := filepath.Join(dir, checkpointsFile)
			lines := readLines(t, p)
			lines[0] = bytes.Replace(lines[0], []byte(`"size":10`), []byte(`"size":9`), 1)
			writeLines(t, p, lines)
		}, ReasonBadSignature, 9, "signature does not verify"},
		{"reorder checkpoints", func(t *testing.T, dir string) {
			p := filepath.Join(dir, checkpointsFile)
			lines := readLines(t, p)
			lines[0], lines[1] = lines[1], lines[0]
			writeLines(t, p, lines)
		}, ReasonReordered, 10, "checkpoint size 10 after size 20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			writeLog(t, cfg, 30)
			if tc.name == "delete a segment" {
				// Rewrite with small segments so there are several.
				dir = t.TempDir()
				cfg = testConfig(dir)
				cfg.SegmentBytes = 4096
				writeLog(t, cfg, 30)
			}
			rep, err := Verify(dir, nil)
			require.NoError(t, err)
			require.True(t, rep.Valid(), "%+v", rep.Break)
			tc.tamper(t, dir)
			rep, err = Verify(dir, nil)
			require.NoError(t, err)
			require.NotNil(t, rep.Break, "tampering must be detected")
			require.Equal(t, tc.reason, rep.Break.Reason, rep.Break.String())
			if tc.seq != 0 {
				require.Equal(t, tc.seq, rep.Break.Seq, rep.Break.String())
			}
			if tc.detail == "segment-missing" {
				require.Contains(t, rep.Break.Detail, segmentName(2))
			} else {
				require.Contains(t, rep.Break.String(), tc.detail)
			}
			require.Less(t, rep.RecordsValid, uint64(31))
		})
	}
}

func TestVerifyTornTail(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Checkpoint.Every = 1000 // only the Close checkpoint
	l, err := Open(cfg)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.NoError(t, l.Append(sampleRecord(i)))
	}
	require.NoError(t, l.Close())
	// Simulate a crash: more records after the checkpoint, last one torn.
	p := filepath.Join(dir, segmentName(1))
	lines := readLines(t, p)
	last, err := parseLine(bytes.TrimSuffix(lines[4], []byte{'\n'}))
	require.NoError(t, err)
	prev := last.hash
	r6 := sampleRecord(6)
	canon := r6.appendCanonical(nil, 6, prev[:], false)
	h := chainHash(prev, canon)
	l6 := linePrefix + string(canon) + lineHashKey + hexString(h[:]) + "\"}\n"
	r7 := sampleRecord(7).appendCanonical(nil, 7, h[:], false)
	torn := (linePrefix + string(r7))[:50]
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(l6 + torn)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	rep, err := Verify(dir, nil)
	require.NoError(t, err)
	require.True(t, rep.Valid(), "%+v", rep.Break)
	require.EqualValues(t, 6, rep.RecordsValid)
	require.EqualValues(t, 5, rep.AnchoredSize)
	require.EqualValues(t, 1, rep.Unanchored)
	require.NotNil(t, rep.Torn)
	require.Equal(t, 50, rep.Torn.Bytes)
	var out bytes.Buffer
	rep.WriteText(&out)
	require.Contains(t, out.String(), "Torn last write: 50 bytes")
	require.Contains(t, out.String(), "unanchored tail: 1 records")

	// Re-opening recovers: the torn bytes are cut and a recovery record written.
	writeLog(t, cfg, 2)
	rep, err = Verify(dir, nil)
	require.NoError(t, err)
	require.True(t, rep.Valid(), "%+v", rep.Break)
	require.Nil(t, rep.Torn)
	require.EqualValues(t, 9, rep.RecordsValid) // 6 + recovery + 2
	require.Len(t, rep.Recoveries, 1)
	require.Contains(t, rep.Recoveries[0], "cut 50 bytes")
}

const crashEnv = "PORTCULLIS_AUDIT_CRASH_CHILD"

// TestCrashChild is the child process of TestCrashKill9: it appends in a
// tight loop until killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKill9")
	}
	cfg := testConfig(dir)
	cfg.Commit.Every = 64
	cfg.Checkpoint.Every = 500
	l, err := Open(cfg)
	if err != nil {
		os.Exit(3)
	}
	os.WriteFile(filepath.Join(dir, "started"), nil, 0o600)
	for i := 0; ; i++ {
		if l.Append(sampleRecord(i)) != nil {
			time.Sleep(10 * time.Microsecond)
		}
	}
}

func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "child did not start")
		time.Sleep(5 * time.Millisecond)
	}
	// Let it write a few thousand records, then kill -9, preferably while
	// the file ends in the middle of a record (the 64 KiB write buffer
	// flushes at arbitrary offsets), so the torn-tail path is exercised.
	for {
		if size, midLine := fileTail(filepath.Join(dir, segmentName(1))); size > 1<<20 && (midLine || size > 8<<20) {
			break
		}
		require.True(t, time.Now().Before(deadline), "child wrote too little")
		time.Sleep(100 * time.Microsecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	rep, err := Verify(dir, nil)
	require.NoError(t, err)
	require.True(t, rep.Valid(), "intact prefix must verify: %+v", rep.Break)
	require.Positive(t, rep.RecordsValid)
	require.Positive(t, rep.Checkpoints)
	require.GreaterOrEqual(t, rep.RecordsValid, rep.AnchoredSize)
	var out bytes.Buffer
	rep.WriteText(&out)
	t.Logf("after kill -9:\n%s", out.String())
	if rep.Torn != nil {
		require.Contains(t, out.String(), "Torn last write")
	}

	// Restart: the writer cuts the torn tail and continues the chain.
	writeLog(t, testConfig(dir), 3)
	rep2, err := Verify(dir, []ed25519.PublicKey(nil))
	require.NoError(t, err)
	require.True(t, rep2.Valid(), "%+v", rep2.Break)
	require.Nil(t, rep2.Torn)
	require.Zero(t, rep2.Unanchored)
}

// fileTail returns the file size and whether it ends mid-line.
func fileTail(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return 0, false
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, st.Size()-1); err != nil {
		return 0, false
	}
	return st.Size(), b[0] != '\n'
}
