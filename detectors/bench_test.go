package detectors

import (
	"fmt"
	"github.com/portcullis-mcp/portcullis/internal/cputime/cputimetest"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/detectors/internal/jsonwalk"
	"github.com/portcullis-mcp/portcullis/detectors/redact"
)

// benchDoc builds a realistic MCP tools/call result of about size bytes:
// several text content blocks mixing prose, code, log lines and a few PII
// items, plus structuredContent rows.
func benchDoc(size int) []byte {
	chunks := []string{
		"The quarterly report shows revenue grew 12% compared to last year, driven by the new subscription tier. ",
		"func (s *Store) Get(ctx context.Context, id int64) (*Item, error) { return s.db.QueryRow(ctx, q, id) } ",
		"2024-03-01T12:00:00Z INFO request_id=8f3a2c path=/api/v1/items status=200 latency_ms=12 ",
		"Contact the account owner at maria.lopez@example.org or call (415) 555-0134 for access. ",
		"| id | name | status |\n|----|------|--------|\n| 17 | widget | active |\n",
		"See https://docs.example.com/guide?section=install&lang=en for installation steps. ",
	}
	var blocks []string
	var cur strings.Builder
	n := 0
	for i := 0; n < size-200; i++ {
		c := chunks[i%len(chunks)]
		cur.WriteString(c)
		n += len(c) + 2
		if cur.Len() > 900 {
			blocks = append(blocks, cur.String())
			cur.Reset()
			n += 30
		}
	}
	if cur.Len() > 0 {
		blocks = append(blocks, cur.String())
	}
	var b []byte
	b = append(b, `{"jsonrpc":"2.0","id":7,"result":{"content":[`...)
	for i, bl := range blocks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"text","text":`...)
		b = jsonwalk.AppendQuote(b, bl)
		b = append(b, '}')
	}
	b = append(b, `],"isError":false}}`...)
	return b
}

// warmUp runs one scan of every benchmark size before anything is timed:
// the secret rules' regular expressions are compiled on first use, which
// would otherwise land in whichever benchmark runs first (tens of µs per op
// at a few hundred ops).
func warmUp(b *testing.B, e *Engine) {
	b.Helper()
	for _, size := range []int{1 << 10, 4 << 10, 64 << 10} {
		if _, err := e.ScanJSON(benchDoc(size)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPipeline(b *testing.B) {
	e, err := NewEngine(Options{})
	if err != nil {
		b.Fatal(err)
	}
	warmUp(b, e)
	for _, size := range []int{1 << 10, 4 << 10, 64 << 10} {
		doc := benchDoc(size)
		name := fmt.Sprintf("%dKB", size>>10)
		b.Run("baseline_walk/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			cputimetest.Loop(b, func() {
				if _, err := jsonwalk.Walk(doc, jsonwalk.Limits{}); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("scan_json/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			cputimetest.Loop(b, func() {
				if _, err := e.ScanJSON(doc); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("redact_report/"+name, func(b *testing.B) {
			// redaction from the scan's kept matches (the scan is not timed)
			rep, err := e.ScanJSON(doc)
			if err != nil {
				b.Fatal(err)
			}
			v := redact.NewVault(redact.VaultOptions{Key: []byte("k")})
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			cputimetest.Loop(b, func() {
				if _, _, err := e.RedactReport(doc, rep, redact.Mask, v); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("redact_json/"+name, func(b *testing.B) {
			v := redact.NewVault(redact.VaultOptions{Key: []byte("k")})
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			cputimetest.Loop(b, func() {
				if _, _, err := e.RedactJSON(doc, redact.Mask, v); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkDetectors splits the 4 KB pipeline cost per detector.
func BenchmarkDetectors(b *testing.B) {
	doc := benchDoc(4 << 10)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"injection_only", Options{DisablePII: true, DisableSecrets: true, DisableExfil: true, DisableInvisible: true}},
		{"pii_only", Options{DisableInjection: true, DisableSecrets: true, DisableExfil: true, DisableInvisible: true}},
		{"secrets_only", Options{DisableInjection: true, DisablePII: true, DisableExfil: true, DisableInvisible: true}},
		{"exfil_only", Options{DisableInjection: true, DisablePII: true, DisableSecrets: true, DisableInvisible: true}},
	} {
		e, err := NewEngine(tc.o)
		if err != nil {
			b.Fatal(err)
		}
		warmUp(b, e)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			cputimetest.Loop(b, func() {
				if _, err := e.ScanJSON(doc); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
