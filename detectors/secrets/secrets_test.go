package secrets

import (
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name, in, rule, value string
	}{
		{"aws key id", `aws_access_key_id = AKIAQYLPMN5HFIQR7XYZ`, "aws-access-token", "AKIAQYLPMN5HFIQR7XYZ"},
		{"github pat in json", `{"token":"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"}`, "github-pat", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"},
		{"postgres url", `DATABASE_URL=postgres://app:s3cr3tP4ss@db.internal:5432/prod`, "connection-string", "s3cr3tP4ss"},
		{"ado.net", `Server=tcp:db.example.net;Database=app;User Id=sa;Password=Zx9!kLm2qR;`, "connection-string-password", "Zx9!kLm2qR"},
		{"private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yQ2ZkqR8x1Yp7v3Q9P0dE3Xx\n-----END RSA PRIVATE KEY-----", "private-key", ""},
		{"jwt", `Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`, "", ""},
		{"slack bot", `SLACK=xoxb-781236542736-2364535789652-GkwFDQoHqzXDVsC6GzqYUypD`, "slack-bot-token", ""},
		{"stripe", `stripe.api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"`, "stripe-access-token", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := Find(tc.in)
			if len(ms) == 0 {
				t.Fatalf("no secret found in %q", tc.in)
			}
			m := ms[0]
			if tc.rule != "" && m.Rule != tc.rule {
				t.Errorf("rule %q, want %q", m.Rule, tc.rule)
			}
			if tc.value != "" && tc.in[m.Start:m.End] != tc.value {
				t.Errorf("value %q, want %q", tc.in[m.Start:m.End], tc.value)
			}
		})
	}
}

func TestBenign(t *testing.T) {
	for _, s := range []string{
		"The API key is stored in the vault; see the docs for access control and auth tokens.",
		`password: ${DB_PASSWORD}`,
		`api_key = "your-api-key-here"`,
		`func (a *Auth) Token() (string, error) { return a.token, nil }`,
		`token: getTokenFromEnv()`,
		"https://example.com/login?next=/home",
		"git clone https://github.com/portcullis-mcp/portcullis.git",
		`{"access": "read", "key": "name", "secret": false}`,
		strings.Repeat("keyboard monkey access api token auth ", 200),
	} {
		if ms := Find(s); len(ms) != 0 {
			t.Errorf("benign %q flagged: %+v (%q)", s[:min(60, len(s))], ms[0], s[ms[0].Start:ms[0].End])
		}
	}
}

func FuzzFind(f *testing.F) {
	f.Add("aws_access_key_id = AKIAQYLPMN5HFIQR7XYZ")
	f.Add("postgres://u:p4ssw0rd@h/db")
	f.Add("-----BEGIN PRIVATE KEY-----\nabc")
	f.Add(strings.Repeat("ghp_", 100))
	f.Fuzz(func(t *testing.T, s string) {
		prev := -1
		for _, m := range Find(s) {
			if m.Start < 0 || m.End > len(s) || m.Start >= m.End || m.Start < prev {
				t.Fatalf("bad span %+v in %d bytes", m, len(s))
			}
			prev = m.End
		}
	})
}

func benchText(n int) string {
	var b strings.Builder
	chunks := []string{
		"The quarterly report shows revenue grew 12% compared to last year, driven by the new subscription tier. ",
		"func (s *Store) Get(ctx context.Context, id int64) (*Item, error) { return s.db.QueryRow(ctx, q, id) } ",
		"2024-03-01T12:00:00Z INFO request_id=8f3a2c path=/api/v1/items status=200 latency_ms=12 auth=ok\n",
		"Use the API with your access token; the key rotation policy is documented. ",
		`{"id": 17, "name": "widget", "status": "active", "key": "sku-17"}` + "\n",
	}
	for i := 0; b.Len() < n; i++ {
		b.WriteString(chunks[i%len(chunks)])
	}
	return b.String()[:n]
}

func BenchmarkFind(b *testing.B) {
	for _, n := range []int{4 << 10, 64 << 10} {
		s := benchText(n)
		Find(s) // compile lazily-built regexps outside the timing
		b.Run(strings.Repeat("", 0)+map[int]string{4 << 10: "4KB", 64 << 10: "64KB"}[n], func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				Find(s)
			}
		})
	}
}
