package audit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/config"
)

const fullAudit = `
listen: {extproc: "127.0.0.1:50051"}
audit:
  dir: /var/lib/portcullis/audit
  content: false
  digest_key_file: /etc/portcullis/digest.key
  segment_bytes: 1048576
  commit: {every: 128, interval: 2ms}
  checkpoint: {key_file: /etc/portcullis/audit-checkpoint.key, every: 5000, interval: 5s}
  queue: {size: 4096, on_full: drop}
  sinks:
    - {name: siem, type: splunk, url: "https://splunk:8088", secret_file: /etc/hec, index: mcp, checkpoints: true}
    - {name: hook, type: webhook, url: "https://hooks.example/audit", secret_file: /etc/whsec}
    - {name: sentinel, type: sentinel, url: "https://dce.ingest.monitor.azure.com", dcr_id: dcr-1, stream: Custom-MCPGatewayDecisions_CL,
       token_url: "https://login.microsoftonline.com/t/oauth2/v2.0/token", client_id: app, secret_file: /etc/sec}
    - {name: collector, type: otlp, url: "http://127.0.0.1:4318/v1/logs", flush_interval: 200ms}
`

func TestConfigFullSectionParses(t *testing.T) {
	c, err := config.Parse([]byte(fullAudit))
	require.NoError(t, err)
	a := c.Audit
	require.Equal(t, 128, a.Commit.Every)
	require.Equal(t, 2*time.Millisecond, a.Commit.Interval)
	require.Equal(t, 5*time.Second, a.Checkpoint.Interval)
	require.Equal(t, audit.OnFullDrop, a.Queue.OnFull)
	require.Len(t, a.Sinks, 4)
	require.Equal(t, "_json", a.Sinks[0].SourceType, "default applied")
	require.Equal(t, audit.DefaultSinkTimeout, a.Sinks[3].Timeout)
}

func TestConfigDefaults(t *testing.T) {
	c, err := config.Parse([]byte("audit: {dir: /tmp/a}\n"))
	require.NoError(t, err)
	require.False(t, c.Audit.Content, "content-free by default")
	require.Equal(t, audit.OnFullBlock, c.Audit.Queue.OnFull, "fail closed by default")
	require.Equal(t, audit.DefaultCommitEvery, c.Audit.Commit.Every)
	require.Equal(t, audit.DefaultCheckpointEvery, c.Audit.Checkpoint.Every)
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown key", "audit: {dir: /a, comit: {every: 1}}", []string{"audit.comit: unknown field"}},
		{"negative values", "audit: {dir: /a, commit: {every: -1, interval: -1s}, checkpoint: {every: -5}, queue: {size: -1, on_full: maybe}}",
			[]string{"audit.commit.every: must be > 0", "audit.commit.interval: must be > 0", "audit.checkpoint.every: must be > 0",
				"audit.queue.size: must be > 0", `audit.queue.on_full: must be "block" or "drop", got "maybe"`}},
		{"sink problems", `audit: {dir: /a, sinks: [{name: x, type: kafka, url: "ftp://h"}, {name: x, type: sentinel, url: "https://h"}]}`,
			[]string{"audit.sinks[0].type: must be one of", "audit.sinks[0].url: must be an http(s) URL", "audit.sinks[1].name: duplicate sink name",
				"audit.sinks[1].dcr_id: is required for sentinel", "audit.sinks[1].token_url: is required for sentinel"}},
		{"sinks need a dir", `audit: {sinks: [{name: h, type: webhook, url: "https://h", secret_file: /s}]}`, []string{"audit.sinks: need audit.dir"}},
		{"webhook secret", `audit: {dir: /a, sinks: [{name: h, type: webhook, url: "https://h"}]}`, []string{"audit.sinks[0].secret_file: is required for webhook"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tc.yaml))
			require.Error(t, err)
			for _, w := range tc.want {
				require.True(t, strings.Contains(err.Error(), w), "want %q in:\n%v", w, err)
			}
		})
	}
}
