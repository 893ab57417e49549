package sink

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/audit"
)

type countTransport struct{ n atomic.Int64 }

func (c *countTransport) Limits() Limits { return Limits{MaxEvents: 1000, MaxBytes: 1 << 20} }
func (c *countTransport) Send(_ context.Context, ev [][]byte) error {
	c.n.Add(int64(len(ev)))
	return nil
}

// BenchmarkLogWithSink: audit throughput with no sink vs with a spooling
// exporter attached (spool write on the writer goroutine + background
// delivery to a no-op transport), side by side.
func BenchmarkLogWithSink(b *testing.B) {
	for _, withSink := range []bool{false, true} {
		name := map[bool]string{false: "no-sink", true: "spool-sink"}[withSink]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cfg := audit.Config{Dir: b.TempDir()}
			cfg.ApplyDefaults()
			var opts []audit.Option
			ct := &countTransport{}
			if withSink {
				e, err := New("bench", ct, Options{SpoolDir: b.TempDir(), FlushInterval: 10 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, audit.WithSinks(e))
			}
			l, err := audit.Open(cfg, opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				r := audit.NewRecord(audit.PlaneRequest, audit.DecisionAllow)
				r.Server, r.Tool, r.Method = "github", "create_issue", "tools/call"
				for l.Append(r) == audit.ErrQueueFull {
					time.Sleep(50 * time.Microsecond)
				}
			}
			if err := l.Close(); err != nil { // also closes the sink: final delivery
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			if withSink {
				b.ReportMetric(float64(ct.n.Load())/float64(b.N), "delivered/op")
			}
		})
	}
}
