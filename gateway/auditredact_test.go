package gateway

import (
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/config"
)

// audit.content: true stores the redacted form of a redact decision's
// content; surrogates go to a vault no client session can name.
func TestAuditRedactor(t *testing.T) {
	cfg, err := config.Parse([]byte("servers: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	red := auditRedactor(d)
	const email, card = "alice.example@example.com", "4111 1111 1111 1111"
	for _, tc := range []struct{ name, in string }{
		{"json arguments", `{"to":"` + email + `","card":"` + card + `"}`},
		{"plain error message", "upstream said: card " + card + " of " + email + " declined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := red([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), email) || strings.Contains(string(out), card) || len(out) == 0 {
				t.Fatalf("not redacted: %s", out)
			}
		})
	}
	if strings.ContainsAny(auditVault, "\r\n") || !strings.Contains(auditVault, "\x00") {
		t.Fatal("the audit vault key must be impossible in an HTTP header")
	}
}
