package audit

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures audit throughput side by side:
//   - memory: canonical encoding + chain hash only (no I/O), the baseline;
//   - group-commit: the real Log with default commit settings (fsync every
//     256 records or 5 ms), including draining the queue and the final
//     checkpoint;
//   - fsync-each: commit every record, what group commit avoids.
//
// records/s counts the whole run (Append to durable); fsyncs/op shows the
// amortisation.
func BenchmarkAppend(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		b.ReportAllocs()
		var head [32]byte
		buf := make([]byte, 0, 4096)
		h := sha256.New()
		r := sampleRecord(1)
		start := time.Now()
		for i := 0; i < b.N; i++ {
			buf = r.appendCanonical(buf[:0], uint64(i+1), head[:], false)
			h.Reset()
			h.Write(head[:])
			h.Write(buf)
			h.Sum(head[:0])
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
	for _, bc := range []struct {
		name  string
		every int
	}{{"group-commit", DefaultCommitEvery}, {"fsync-each", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cfg := Config{Dir: b.TempDir()}
			cfg.ApplyDefaults()
			cfg.Commit.Every = bc.every
			cfg.Queue.Size = 1 << 16
			l, err := Open(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				for {
					err := l.Append(sampleRecord(i))
					if err == nil {
						break
					}
					if err != ErrQueueFull {
						b.Fatal(err)
					}
					time.Sleep(50 * time.Microsecond) // writer is behind: back off
				}
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			el := time.Since(start)
			st := l.Stats()
			b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
			b.ReportMetric(float64(st.Fsyncs)/float64(b.N), "fsyncs/op")
			b.ReportMetric(float64(st.Rejected)/float64(b.N), "queue-full/op")
		})
	}
	// paced-10k offers exactly 10,000 records/s (10 per millisecond) and
	// reports the deepest queue seen and how long the writer needed after
	// the last Append to make everything durable: if it keeps up, the queue
	// stays shallow and drain-ms stays near one commit interval.
	b.Run("paced-10k", func(b *testing.B) {
		b.ReportAllocs()
		cfg := Config{Dir: b.TempDir()}
		cfg.ApplyDefaults()
		l, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		maxDepth, rejected := 0, 0
		for i := 0; i < b.N; i++ {
			if i%10 == 0 {
				if d := time.Until(start.Add(time.Duration(i/10) * time.Millisecond)); d > 0 {
					time.Sleep(d)
				}
			}
			if err := l.Append(sampleRecord(i)); err != nil {
				rejected++
			}
			if i%100 == 0 {
				maxDepth = max(maxDepth, l.Stats().QueueDepth)
			}
		}
		last := time.Now()
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
		drain := time.Since(last)
		offered := float64(b.N) / last.Sub(start).Seconds()
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(offered, "offered-records/s")
		b.ReportMetric(float64(maxDepth), "max-queue")
		b.ReportMetric(float64(drain.Microseconds())/1000, "drain-ms")
		b.ReportMetric(float64(rejected), "rejected")
		b.ReportMetric(float64(l.Stats().Fsyncs)/float64(b.N), "fsyncs/op")
	})
}

// BenchmarkSanitize is the per-record cost of bounding identifiers and
// hashing the session id in content-free mode, beside the canonical
// encoding of the same record (the "memory" case of BenchmarkAppend) as the
// baseline in the same run.
func BenchmarkSanitize(b *testing.B) {
	b.Run("encode-baseline", func(b *testing.B) {
		b.ReportAllocs()
		r := sampleRecord(1)
		var head [32]byte
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = r.appendCanonical(buf[:0], 1, head[:], false)
		}
	})
	b.Run("sanitize", func(b *testing.B) {
		b.ReportAllocs()
		r := sampleRecord(1)
		for b.Loop() {
			r.Session = "sess-1"
			r.sanitize(nil, false)
		}
	})
}

// BenchmarkDurable compares audit.durable (every Append waits until its
// record is fsynced; concurrent callers share an fsync) with the default
// group commit (Append returns once queued), side by side at 1, 16 and 64
// concurrent callers, like calls in flight at the gateway. Both runs end
// with every record durable (Sync, then Close), so records/s compares the
// same work; fsyncs/op shows how much sharing durable mode gets.
func BenchmarkDurable(b *testing.B) {
	for _, callers := range []int{1, 16, 64} {
		for _, durable := range []bool{false, true} {
			name := fmt.Sprintf("callers=%d/group-commit", callers)
			if durable {
				name = fmt.Sprintf("callers=%d/durable", callers)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				cfg := Config{Dir: b.TempDir(), Durable: durable}
				cfg.ApplyDefaults()
				cfg.Queue.Size = 1 << 16
				l, err := Open(cfg)
				if err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, callers)
				b.ResetTimer()
				start := time.Now()
				for range callers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							for {
								err := l.Append(sampleRecord(int(i)))
								if err == nil {
									break
								}
								if err != ErrQueueFull {
									errs <- err
									return
								}
								time.Sleep(50 * time.Microsecond) // writer is behind: back off
							}
						}
					}()
				}
				wg.Wait()
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
				el := time.Since(start)
				b.StopTimer()
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
				st := l.Stats()
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
				b.ReportMetric(float64(st.Fsyncs)/float64(b.N), "fsyncs/op")
			})
		}
	}
}
