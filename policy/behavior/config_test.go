package behavior

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseConfigFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(t, err)
	c, err := ParseConfig(data)
	require.NoError(t, err)
	require.Equal(t, time.Minute, c.Window)
	require.Equal(t, 72*time.Hour, c.BaselineTTL)
	require.Equal(t, 0.2, c.Alpha)
	require.Equal(t, 10, c.Anomaly.NewToolScore)
	require.Equal(t, []string{"send_email", "http/*", "slack/post_*"}, c.EgressTools)
	require.Len(t, c.Sequences, 2)
	require.Equal(t, ActionRequireApproval, c.Sequences[1].Action)
	require.Equal(t, int64(1000), c.Sequences[1].MinRecords)
	require.Equal(t, ActionBlock, *c.Verbatim.Action)
	require.Equal(t, []RateLimit{
		{Name: "per-agent", Scope: ScopeAgent, Limit: 120, Window: time.Minute, Action: ActionBlock},
		{Name: "sql", Scope: ScopeTool, Match: "db/execute_*", Limit: 10, Window: 10 * time.Second, Action: ActionRequireApproval},
		{Name: "server", Scope: ScopeServer, Match: "payments", Limit: 30, Window: time.Minute, Action: ActionBlock},
	}, c.RateLimits)
	require.Len(t, c.Pinning.Pinned["weather"]["get_weather"], 64)
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte("egress_tools: [send_email]\n"))
	require.NoError(t, err)
	require.Equal(t, time.Minute, c.Window)
	require.Equal(t, 0.3, c.Alpha)
	require.Equal(t, 3, c.Warmup)
	require.Equal(t, time.Hour, c.SessionTTL)
	require.Equal(t, DefaultSensitive, c.SensitiveCategories)
	require.Equal(t, []Sequence{{Name: "sensitive-then-egress", Action: ActionBlock}}, c.Sequences)
	require.Equal(t, ActionRequireApproval, *c.Verbatim.Action)
	require.Equal(t, PinBlock, c.Pinning.Mode)

	// verbatim.action "" explicitly disables the hard outcome.
	c, err = ParseConfig([]byte("verbatim: {action: \"\"}\n"))
	require.NoError(t, err)
	require.Empty(t, *c.Verbatim.Action)
	require.Empty(t, c.Sequences, "no egress tools: no default sequence")
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown key", "windw: 1m\n", []string{"windw"}},
		{"nested unknown key", "anomaly: {velocity: 3}\n", []string{"anomaly.velocity"}},
		{"bad duration", "window: soon\n", []string{"line 1", "time.Duration"}},
		{"ranges", "window: 10ms\nalpha: 2\nwarmup: -1\nanomaly: {velocity_ratio: 0.5, new_tool_score: 101}\n",
			[]string{"window: must be between 1s and 24h", "alpha: must be in (0,1]", "warmup:", "anomaly.velocity_ratio", "anomaly.new_tool_score"}},
		{"egress glob", "egress_tools: [\"send mail\"]\n", []string{"egress_tools[0]: pattern"}},
		{"categories", "sensitive_categories: [pii, pii, \"\"]\n", []string{"sensitive_categories[1]: duplicate", "sensitive_categories[2]: empty"}},
		{"sequences", "egress_tools: [x]\nsequences: [{name: a, after: [nope], action: allow}, {name: a, then: [\"\"]}, {}]\n",
			[]string{"sequences[0].after[0]: category \"nope\"", "sequences[0].action", "sequences[1].name: duplicate", "sequences[1].then[0]", "sequences[2].name: required"}},
		{"sequence never fires", "sequences: [{name: a}]\n", []string{"sequences[0].then: empty and egress_tools is empty"}},
		{"verbatim", "verbatim: {action: deny, score: 200}\n", []string{"verbatim.action", "verbatim.score"}},
		{"rate limits", "rate_limits: [{scope: user, limit: 0, window: 48h, action: allow, match: \"a b\"}]\n",
			[]string{"rate_limits[0].scope", "rate_limits[0].limit", "rate_limits[0].window", "rate_limits[0].action", "rate_limits[0].match"}},
		{"pinning", "pinning: {mode: strict, max_tools_per_server: -1, pinned: {srv: {tool: abc}}}\n",
			[]string{"pinning.mode", "pinning.max_tools_per_server", "pinning.pinned.srv.tool: must be a SHA-256"}},
		{"two documents", "window: 1m\n---\nwindow: 2m\n", []string{"more than one YAML document"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	c := Config{Alpha: 5}
	c.ApplyDefaults()
	errs := c.Validate("spec.behavior")
	require.Len(t, errs, 1)
	require.True(t, strings.HasPrefix(errs[0].Error(), "spec.behavior.alpha: "), errs[0].Error())
}

func FuzzParseConfig(f *testing.F) {
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(f, err)
	f.Add(data)
	for _, s := range []string{"", "window: 1m\n", "rate_limits: [{scope: agent, limit: 1}]\n", "pinning: {pinned: {a: {b: c}}}\n", "sequences: [{name: a}]\negress_tools: ['*']\n", "alpha: .nan\n", "window: -5m\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		// Anything accepted must be usable.
		require.Empty(t, c.Validate(""))
		e := New(c, nil, nil)
		e.OnCall(t.Context(), Call{Agent: "a", Session: "s", Server: "srv", Tool: "t", Args: []byte(`{"path":"/etc/x"}`)})
		e.OnResult(t.Context(), Result{Agent: "a", Session: "s", Sensitive: c.SensitiveCategories, Values: [][]byte{[]byte("value1234")}})
		e.OnCall(t.Context(), Call{Agent: "a", Session: "s", Server: "srv", Tool: "t", Args: []byte(`{"x":"value1234"}`)})
	})
}
