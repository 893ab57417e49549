package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// readRecords returns the canonical records of dir's first segment.
func readRecords(t *testing.T, dir string) []gjson.Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	require.NoError(t, err)
	var out []gjson.Result
	for _, ln := range bytes.Split(bytes.TrimSpace(data), []byte{'\n'}) {
		out = append(out, gjson.GetBytes(ln, "rec"))
	}
	return out
}

// Issue 11 #21: in content-free mode one 3.9 MB request wrote 7.8 MB of
// audit because client-chosen ids and names were stored verbatim.
func TestAttackerChosenFieldsBounded(t *testing.T) {
	huge := strings.Repeat("A", 4<<20)
	for _, content := range []bool{false, true} {
		t.Run(map[bool]string{false: "content-free", true: "content"}[content], func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.Content = content
			l, err := Open(cfg)
			require.NoError(t, err)
			r := sampleRecord(1)
			r.RPCID, r.Tool, r.Session, r.Method, r.Agent, r.Server = `"`+huge, huge, huge, huge, "é"+huge, huge
			r.Findings = append(r.Findings, Finding{Type: huge, Count: 1})
			require.NoError(t, l.Append(r))
			short := sampleRecord(2)
			require.NoError(t, l.Append(short))
			require.NoError(t, l.Close())

			st, err := os.Stat(filepath.Join(dir, segmentName(1)))
			require.NoError(t, err)
			require.Less(t, st.Size(), int64(8<<10), "two records must stay small")
			recs := readRecords(t, dir)
			tool := recs[0].Get("resources.0.name").String()
			require.LessOrEqual(t, len(tool), MaxFieldBytes)
			require.True(t, strings.HasPrefix(tool, strings.Repeat("A", boundedPrefix)+"…sha256:"), tool)
			require.Equal(t, bound(nil, huge), tool, "the digest is of the whole value, so equal values stay equal")
			agent := recs[0].Get("actor.user.uid").String()
			require.True(t, strings.HasPrefix(agent, "é") && len(agent) <= MaxFieldBytes, agent)
			// Short identifiers are kept as they are, except the session
			// id, which content-free mode stores as a digest.
			require.Equal(t, "create_issue", recs[1].Get("resources.0.name").String())
			require.Equal(t, "2", recs[1].Get("api.request.uid").String())
			sess := recs[1].Get("actor.session.uid").String()
			if content {
				require.Equal(t, "sess-1", sess)
			} else {
				require.Equal(t, Digest(nil, []byte("sess-1")), sess)
			}
			rep, err := Verify(dir, nil)
			require.NoError(t, err)
			require.True(t, rep.Valid(), "%v", rep.Break)
		})
	}
}

// Issue 11 #21: audit.content: true wrote raw PII and secrets even for
// redact decisions.
func TestRedactDecisionNeverStoresRawContent(t *testing.T) {
	const card, masked = "4111 1111 1111 1111", "[CARD_1]"
	raw := `{"note":"pay with ` + card + `"}`
	redactor := func(b []byte) ([]byte, error) { return bytes.ReplaceAll(b, []byte(card), []byte(masked)), nil }
	failing := func([]byte) ([]byte, error) { return nil, errors.New("boom") }
	tests := []struct {
		name     string
		decision Decision
		wouldBe  Decision
		redacted bool
		redactor ContentRedactor
		wantArgs string // "" = no content stored
		withheld string
	}{
		{"allow keeps content", DecisionAllow, DecisionAllow, false, nil, raw, ""},
		{"redact without redactor withholds", DecisionRedact, DecisionRedact, false, nil, "", "no redactor"},
		{"redact with redactor stores the redacted form", DecisionRedact, DecisionRedact, false, redactor, strings.Replace(raw, card, masked, 1), ""},
		{"dry-run redact is protected too", DecisionDryRun, DecisionRedact, false, redactor, strings.Replace(raw, card, masked, 1), ""},
		{"caller-redacted content is kept", DecisionRedact, DecisionRedact, true, nil, `{"note":"pay with [CARD_9]"}`, ""},
		{"redactor failure withholds", DecisionRedact, DecisionRedact, false, failing, "", "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.Content = true
			l, err := Open(cfg)
			require.NoError(t, err)
			l.SetContentRedactor(tt.redactor)
			r := sampleRecord(1)
			r.Decision, r.WouldBe = tt.decision, tt.wouldBe
			args := raw
			if tt.redacted {
				args = tt.wantArgs
			}
			r.Content = &Content{Arguments: args, Redacted: tt.redacted}
			require.NoError(t, l.Append(r))
			require.NoError(t, l.Close())
			data, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
			require.NoError(t, err)
			if tt.decision != DecisionAllow {
				require.NotContains(t, string(data), card)
			}
			rec := readRecords(t, dir)[0].Get("unmapped.portcullis")
			require.Equal(t, tt.wantArgs, rec.Get("content.arguments").String())
			if tt.withheld != "" {
				require.Contains(t, rec.Get("content_withheld").String(), tt.withheld)
			} else {
				require.False(t, rec.Get("content_withheld").Exists())
			}
		})
	}
}
