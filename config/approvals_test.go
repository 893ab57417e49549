package config

import (
	"strings"
	"testing"
	"time"
)

// The approvals section decodes strictly, gets its defaults and reports
// every problem with its field path under approvals.
func TestApprovalsSection(t *testing.T) {
	base := "listen: {extproc: 127.0.0.1:0}\n"
	c, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Approvals.Timeout != 15*time.Minute || c.Approvals.OnTimeout != "reject" || c.Approvals.Hold != 0 || c.Approvals.Auth.InsecureDev {
		t.Fatalf("defaults: %+v", c.Approvals)
	}
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "approvals: {timeout: 1m, quorum: 2}\n", []string{"quorum"}},
		{"bad values", "approvals:\n  hold: 1m\n  on_timeout: maybe\n  rules: [{approvers: [a], quorum: 2}]\n", []string{"approvals.hold", "approvals.on_timeout", "approvals.rules[0].quorum"}},
		{"hold beyond the message timeout", "limits: {message_timeout: 2s}\napprovals: {hold: 3s}\n", []string{"approvals.hold: must be shorter than limits.message_timeout"}},
		{"jwt and insecure together", "approvals: {auth: {insecure_dev: true, jwt: {issuer: x, audience: [y], jwks_file: f}}}\n", []string{"approvals.auth.insecure_dev"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(base + tc.yaml))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
