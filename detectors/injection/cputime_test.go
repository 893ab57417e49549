package injection

import (
	"testing"
	"time"
)

// loopCPU runs f in b.Loop and reports, besides ns/op, the process CPU
// time per op ("cpu-ns/op": immune to waiting for a core on a loaded
// machine; it includes the GC's background work), like the detectors
// package benchmarks.
func loopCPU(b *testing.B, f func()) {
	b.Helper()
	c0 := processCPU()
	for b.Loop() {
		f()
	}
	if c := processCPU(); c0 > 0 && c > c0 && b.N > 0 {
		b.ReportMetric(float64(c-c0)/float64(time.Duration(b.N)), "cpu-ns/op")
	}
}
