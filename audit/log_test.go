package audit

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func testConfig(dir string) Config {
	c := Config{Dir: dir}
	c.ApplyDefaults()
	c.Checkpoint.Every = 10
	c.Commit.Every = 4
	c.Commit.Interval = time.Millisecond
	return c
}

func sampleRecord(i int) *Record {
	r := NewRecord(PlaneRequest, DecisionAllow)
	r.Agent = "agent-1"
	r.Session = "sess-1"
	r.Server = "github"
	r.Tool = "create_issue"
	r.Method = "tools/call"
	r.RPCID = fmt.Sprint(i)
	r.Rules = append(r.Rules, "r1")
	r.Risk = 12
	r.Factors = append(r.Factors, Factor{Name: "tool_sensitivity", Score: 12})
	r.Findings = append(r.Findings, Finding{Type: "email", Count: 2})
	r.PolicyVersion = "v3"
	r.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r.ArgsDigest = Digest(nil, []byte(`{"a":1}`))
	return r
}

// writeLog writes n records and closes the log.
func writeLog(t *testing.T, cfg Config, n int) {
	t.Helper()
	l, err := Open(cfg)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		require.NoError(t, l.Append(sampleRecord(i)))
	}
	require.NoError(t, l.Close())
}

func TestNilLogIsNoop(t *testing.T) {
	l, err := Open(Config{})
	require.NoError(t, err)
	require.Nil(t, l)
	require.NoError(t, l.Append(sampleRecord(1)))
	require.NoError(t, l.Sync())
	require.NoError(t, l.Close())
	require.Equal(t, Stats{}, l.Stats())
	require.False(t, l.Content())
}

func TestWriteVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SegmentBytes = 4096 // force rotation
	writeLog(t, cfg, 45)
	rep, err := Verify(dir, nil)
	require.NoError(t, err)
	require.True(t, rep.Valid(), "%+v", rep.Break)
	require.EqualValues(t, 45, rep.RecordsValid)
	require.Greater(t, rep.Segments, 3)
	require.Equal(t, rep.Segments, rep.SegmentsValid)
	require.EqualValues(t, 45, rep.AnchoredSize, "Close writes a final checkpoint")
	require.Zero(t, rep.Unanchored)
	require.Equal(t, 5, rep.Checkpoints) // every 10 + final

	// The record is OCSF-shaped.
	data, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	require.NoError(t, err)
	first, _, _ := bytes.Cut(data, []byte{'\n'})
	rec := gjson.GetBytes(first, "rec")
	require.EqualValues(t, 6003, rec.Get("class_uid").Int())
	require.EqualValues(t, 1, rec.Get("seq").Int())
	require.Equal(t, strings.Repeat("0", 64), rec.Get("prev_hash").String())
	require.Equal(t, "Allowed", rec.Get("disposition").String())
	require.Equal(t, "create_issue", rec.Get("resources.0.name").String())
	require.Equal(t, "email", rec.Get("unmapped.portcullis.findings.0.type").String())

	// Resume continues the chain.
	writeLog(t, cfg, 5)
	rep, err = Verify(dir, nil)
	require.NoError(t, err)
	require.True(t, rep.Valid(), "%+v", rep.Break)
	require.EqualValues(t, 50, rep.RecordsValid)
}

func TestDecisionOCSF(t *testing.T) {
	tests := []struct {
		d         Decision
		action    int
		dispo     int
		dispoName string
	}{
		{DecisionAllow, 1, 1, "Allowed"},
		{DecisionBlock, 2, 2, "Blocked"},
		{DecisionApproval, 4, 14, "Delayed"},
		{DecisionSandbox, 4, 4, "Isolated"},
		{DecisionDryRun, 3, 17, "Logged"},
		{DecisionRedact, 4, 1, "Allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			a, _, d, dn := tc.d.OCSF()
			require.Equal(t, tc.action, a)
			require.Equal(t, tc.dispo, d)
			require.Equal(t, tc.dispoName, dn)
		})
	}
}

func TestAppendEscapesToValidJSON(t *testing.T) {
	r := sampleRecord(1)
	r.Tool = "we\"ird\\\n\x01\x7f\u2028\xff名"
	b := r.appendCanonical(nil, 1, make([]byte, 32), false)
	require.True(t, gjson.ValidBytes(b), "%s", b)
	require.Equal(t, "we\"ird\\\n\x01\x7f\u2028\ufffd名", gjson.GetBytes(b, "resources.0.name").String())
}

// stallSink blocks the writer (sinks are called on the writer goroutine
// after each commit) until released, so the queue fills deterministically.
type stallSink struct {
	memSink
	entered chan struct{}
	release chan struct{}
	once    bool
}

func (s *stallSink) WriteRecord(rec []byte) {
	if !s.once {
		s.once = true
		close(s.entered)
		<-s.release
	}
	s.memSink.WriteRecord(rec)
}

func stalledLog(t *testing.T, onFull string) (*Log, *stallSink, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Queue.Size = 2
	cfg.Queue.OnFull = onFull
	cfg.Commit.Every = 1
	s := &stallSink{memSink: memSink{name: "stall"}, entered: make(chan struct{}), release: make(chan struct{})}
	l, err := Open(cfg, WithSinks(s))
	require.NoError(t, err)
	require.NoError(t, l.Append(sampleRecord(0)))
	<-s.entered // the writer is now stuck in the sink
	require.NoError(t, l.Append(sampleRecord(1)))
	require.NoError(t, l.Append(sampleRecord(2))) // queue (size 2) now full
	return l, s, dir
}

func TestQueueFullBlockFailsClosed(t *testing.T) {
	l, s, dir := stalledLog(t, OnFullBlock)
	require.ErrorIs(t, l.Append(sampleRecord(3)), ErrQueueFull)
	require.ErrorIs(t, l.Append(sampleRecord(4)), ErrQueueFull)
	close(s.release)
	require.NoError(t, l.Close())
	st := l.Stats()
	require.EqualValues(t, 2, st.Rejected)
	require.EqualValues(t, 3, st.Appended)
	require.EqualValues(t, 3, st.Written)
	require.ErrorIs(t, l.Append(sampleRecord(0)), ErrClosed)
	rep, err := Verify(dir, nil)
	require.NoError(t, err)
	require.True(t, rep.Valid())
	require.EqualValues(t, 3, rep.RecordsValid)
	require.Zero(t, rep.Gaps)
}

func TestQueueFullDropWritesGap(t *testing.T) {
	l, s, dir := stalledLog(t, OnFullDrop)
	for i := 0; i < 5; i++ {
		require.NoError(t, l.Append(sampleRecord(3+i)), "drop mode does not refuse")
	}
	close(s.release)
	require.NoError(t, l.Close())
	st := l.Stats()
	require.EqualValues(t, 5, st.Dropped)
	rep, err := Verify(dir, nil)
	require.NoError(t, err)
	require.True(t, rep.Valid())
	require.EqualValues(t, 5, rep.Gaps, "every dropped record is accounted for in a gap record")
	require.EqualValues(t, 1, countGapRecords(t, dir))
	require.EqualValues(t, 4, rep.RecordsValid) // 3 records + 1 gap record
}

func countGapRecords(t *testing.T, dir string) uint64 {
	t.Helper()
	var n uint64
	segs, err := listSegments(dir)
	require.NoError(t, err)
	for _, s := range segs {
		data, err := os.ReadFile(filepath.Join(dir, segmentName(s)))
		require.NoError(t, err)
		n += uint64(bytes.Count(data, []byte(`"kind":"gap"`)))
	}
	return n
}

func TestSyncMakesDurable(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Commit.Every = 1 << 20
	cfg.Commit.Interval = time.Hour
	l, err := Open(cfg)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, l.Append(sampleRecord(i)))
	}
	require.NoError(t, l.Sync())
	data, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	require.NoError(t, err)
	require.Equal(t, 3, bytes.Count(data, []byte{'\n'}))
	require.EqualValues(t, 1, l.Stats().Fsyncs)
	require.NoError(t, l.Close())
}

func TestContentRecordedOnlyWhenEnabled(t *testing.T) {
	for _, content := range []bool{false, true} {
		t.Run(fmt.Sprint(content), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.Content = content
			l, err := Open(cfg)
			require.NoError(t, err)
			r := sampleRecord(1)
			r.Content = &Content{Arguments: `{"q":"hello-content"}`}
			require.NoError(t, l.Append(r))
			require.NoError(t, l.Close())
			data, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
			require.NoError(t, err)
			require.Equal(t, content, bytes.Contains(data, []byte("hello-content")))
		})
	}
}

func TestKeyFileAndPubkeyVerification(t *testing.T) {
	dir := t.TempDir()
	keyDir := t.TempDir()
	priv, pub, err := GenerateKey()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(keyDir, "k.key"), priv, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(keyDir, "k.pub"), pub, 0o644))
	cfg := testConfig(dir)
	cfg.Checkpoint.KeyFile = filepath.Join(keyDir, "k.key")
	writeLog(t, cfg, 12)
	pk, err := ReadPublicKey(filepath.Join(keyDir, "k.pub"))
	require.NoError(t, err)
	rep, err := Verify(dir, []ed25519.PublicKey{pk})
	require.NoError(t, err)
	require.True(t, rep.Valid(), "%+v", rep.Break)
	require.Equal(t, "--pubkey", rep.KeySource)

	other, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	rep, err = Verify(dir, []ed25519.PublicKey{other})
	require.NoError(t, err)
	require.False(t, rep.Valid())
	require.Equal(t, ReasonBadSignature, rep.Break.Reason)
}

// When the writer cannot write (here: its directory vanished, so the next
// segment cannot be created), Append fails closed from then on.
func TestWriterFailureFailsClosed(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SegmentBytes = 4096
	l, err := Open(cfg)
	require.NoError(t, err)
	require.NoError(t, l.Err(), "a healthy log reports no error (readiness)")
	require.NoError(t, os.RemoveAll(dir))
	var appendErr error
	require.Eventually(t, func() bool {
		appendErr = l.Append(sampleRecord(1))
		return appendErr != nil
	}, 5*time.Second, time.Millisecond)
	require.ErrorContains(t, appendErr, "audit: writer failed")
	require.ErrorContains(t, l.Err(), "audit: writer failed", "readiness sees the failure")
	require.Error(t, l.Sync())
	require.Error(t, l.Close())
}

func TestSecondWriterRefused(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(testConfig(dir))
	require.NoError(t, err)
	_, err = Open(testConfig(dir))
	require.ErrorContains(t, err, "in use by another process")
	require.NoError(t, l.Close())
	l2, err := Open(testConfig(dir)) // released on Close
	require.NoError(t, err)
	require.NoError(t, l2.Close())
}
