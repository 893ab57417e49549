package audit

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Canaries placed in every content-bearing input of a Record. None may reach
// any file in the audit directory in content-free mode.
var canaries = []string{
	"CANARY-ARGS-7f3a", "CANARY-RESULT-91bc", "CANARY-ERROR-55de", "CANARY-SECRET-c0ffee",
}

func canaryRecord(plane Plane, d Decision, digestKey []byte) *Record {
	r := sampleRecord(1)
	r.Plane, r.Decision = plane, d
	args := []byte(`{"q":"` + canaries[0] + `","token":"` + canaries[3] + `"}`)
	result := []byte(`{"content":[{"type":"text","text":"` + canaries[1] + `"}]}`)
	r.ArgsDigest = Digest(digestKey, args)
	r.ResultDigest = Digest(digestKey, result)
	r.ErrorType = "tool_error"
	r.Findings = []Finding{{Type: "secret.aws_key", Count: 1}} // type and count only: no value field exists
	r.Content = &Content{Arguments: string(args), Result: string(result), Error: canaries[2]}
	return r
}

func TestContentFreeCanary(t *testing.T) {
	for _, content := range []bool{false, true} {
		t.Run(map[bool]string{false: "content-free", true: "content"}[content], func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.Content = content
			cfg.Queue.OnFull = OnFullDrop
			keyFile := filepath.Join(t.TempDir(), "digest.key")
			require.NoError(t, os.WriteFile(keyFile, []byte("k3y"), 0o600))
			cfg.DigestKeyFile = keyFile
			sink := &memSink{name: "mem"}
			l, err := Open(cfg, WithSinks(sink))
			require.NoError(t, err)
			for _, p := range []Plane{PlaneRequest, PlaneResult} {
				for d := DecisionAllow; d <= DecisionRedact; d++ {
					require.NoError(t, l.Append(canaryRecord(p, d, []byte("k3y"))))
				}
			}
			require.NoError(t, l.Close())

			var all bytes.Buffer
			require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				all.Write(b)
				return err
			}))
			for _, r := range sink.records {
				all.Write(r)
			}
			require.Len(t, sink.records, 12)
			require.Positive(t, all.Len())
			for _, c := range canaries {
				require.Equal(t, content, bytes.Contains(all.Bytes(), []byte(c)), "canary %s", c)
			}
			require.Contains(t, all.String(), `"args_digest":"hmac-sha256:`)
		})
	}
}

type memSink struct {
	name    string
	records [][]byte
	cps     [][]byte
	closed  bool
}

func (m *memSink) Name() string              { return m.name }
func (m *memSink) WriteRecord(rec []byte)    { m.records = append(m.records, bytes.Clone(rec)) }
func (m *memSink) WriteCheckpoint(cp []byte) { m.cps = append(m.cps, bytes.Clone(cp)) }
func (m *memSink) Close() error              { m.closed = true; return nil }

var _ Sink = (*memSink)(nil)

func TestSinksGetDurableRecordsAndCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	s := &memSink{name: "mem"}
	l, err := Open(cfg, WithSinks(s))
	require.NoError(t, err)
	for i := 0; i < 25; i++ {
		require.NoError(t, l.Append(sampleRecord(i)))
	}
	require.NoError(t, l.Close())
	require.True(t, s.closed)
	require.Len(t, s.records, 25)
	require.Len(t, s.cps, 3) // 10, 20, final 25
	cp, err := parseCheckpoint(s.cps[2])
	require.NoError(t, err)
	require.EqualValues(t, 25, cp.Size)
}

func TestCheckpointsOnlyToConfiguredSinks(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Sinks = []SinkConfig{{Name: "siem", Type: "otlp", URL: "http://127.0.0.1:4318/v1/logs", Checkpoints: new(true)}, {Name: "hook", Type: "otlp", URL: "http://127.0.0.1:4318/v1/logs", Checkpoints: new(false)}}
	siem, hook, other := &memSink{name: "siem"}, &memSink{name: "hook"}, &memSink{name: "programmatic"}
	l, err := Open(cfg, WithSinks(siem, hook, other))
	require.NoError(t, err)
	require.NoError(t, l.Append(sampleRecord(1)))
	require.NoError(t, l.Close())
	require.Len(t, siem.cps, 1)
	require.Empty(t, hook.cps)
	require.Len(t, other.cps, 1)
	require.Len(t, hook.records, 1)
}
