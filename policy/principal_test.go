package policy

import (
	"testing"
	"time"
)

// The OAuth client and the delegation chain of the validated token are CEL
// variables (agent.client_id, agent.actor), so a rule can tell which app
// acts for a user and through whom.
func TestPrincipalClientAndActorInCEL(t *testing.T) {
	p := mustParse(t, `apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: principal, version: v1}
spec:
  servers:
    - name: fs
      tools: [{name: read, risk: 10}]
  rules:
    - name: deny-untrusted-client
      action: deny
      to: {tools: [read]}
      when: 'agent.client_id != "" && !agent.client_id.startsWith("https://apps.example/")'
    - name: deny-via-ci-bot
      action: deny
      to: {tools: [read]}
      when: '"ci-bot" in agent.actor'
    - name: deny-long-chains
      action: deny
      to: {tools: [read]}
      when: 'size(agent.actor) > 2'
  risk:
    thresholds:
      - {min: 0, max: 100, action: allow}
`)
	tests := []struct {
		name string
		who  Identity
		rule string
	}{
		{"no client, no actor", Identity{ID: "alice", Trust: "high", Source: "oauth"}, "risk:0-100"},
		{"trusted client", Identity{ID: "alice", Trust: "high", Source: "oauth", ClientID: "https://apps.example/ide"}, "risk:0-100"},
		{"other client", Identity{ID: "alice", Trust: "high", Source: "oauth", ClientID: "rogue"}, "deny-untrusted-client"},
		{"delegated through the gateway", Identity{ID: "alice", Trust: "high", Source: "oauth", Actor: []string{"portcullis"}}, "risk:0-100"},
		{"delegated through ci-bot", Identity{ID: "alice", Trust: "high", Source: "oauth", Actor: []string{"portcullis", "ci-bot"}}, "deny-via-ci-bot"},
		{"three actors", Identity{ID: "alice", Trust: "high", Source: "oauth", Actor: []string{"a", "b", "c"}}, "deny-long-chains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Evaluate(&Input{Server: "fs", Tool: "read", Method: "tools/call", Plane: PlaneRequest, Agent: tt.who, Args: []byte(`{}`),
				Now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)})
			if d.Rule != tt.rule {
				t.Fatalf("rule = %s (action %s, reasons %q), want %s", d.Rule, d.Action, d.Reasons, tt.rule)
			}
		})
	}
}
