package audit

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCanonicalGolden pins the canonical record encoding byte for byte: the
// hash chain depends on it, so any change must be deliberate (and versioned).
func TestCanonicalGolden(t *testing.T) {
	ts := time.Date(2026, 11, 24, 13, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name    string
		rec     *Record
		content bool
	}{
		{"decision_block", &Record{Time: ts, Plane: PlaneRequest, Decision: DecisionBlock, Agent: "agent-1", Session: "sess-9",
			Server: "github", Tool: "delete_repo", Method: "tools/call", RPCID: "42", Rules: []string{"deny-destructive", "risk-high"},
			Risk: 91, Factors: []Factor{{Name: "tool_sensitivity", Score: 60, Weight: 3, Reason: "declared risk 60"}, {Name: "injection", Score: 31}}, Findings: []Finding{{"secret.github_token", 1}, {"email", 2}},
			PolicyVersion: "2026-11-24.1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ArgsDigest: Digest(nil, []byte(`{"repo":"x"}`)),
			ErrorType: "-32001", Duration: 830 * time.Microsecond, Content: &Content{Arguments: "not recorded"}}, false},
		{"dry_run_with_content", &Record{Time: ts, Plane: PlaneResult, Decision: DecisionDryRun, WouldBe: DecisionSandbox, Server: "files",
			Tool: "read_file", Method: "tools/call", RPCID: "7", Risk: 45, ResultDigest: Digest([]byte("k"), []byte("r")),
			Content: &Content{Arguments: `{"path":"/etc/passwd"}`, Result: "[REDACTED]", Error: ""}}, true},
		{"gap", &Record{Time: ts, kind: "gap", dropped: 17}, false},
		{"oauth_delegation", &Record{Time: ts, Plane: PlaneRequest, Decision: DecisionAllow, Agent: "alice", ClientID: "https://app.example/client.json",
			Actor: []string{"portcullis", "ci-bot"}, Server: "web", Tool: "fetch", Method: "tools/call", RPCID: "3"}, false},
	}
	prev := make([]byte, 32)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rec.appendCanonical(nil, uint64(i+1), prev, tc.content)
			path := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got)+"\n")
		})
	}
}
