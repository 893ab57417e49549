// Package cputimetest is the benchmark helper over cputime: a b.Loop that
// also reports process CPU time per op.
package cputimetest

import (
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/internal/cputime"
)

// Loop runs f in b.Loop and reports, besides ns/op, the process CPU time per
// op ("cpu-ns/op": immune to waiting for a core on a loaded machine; it
// includes the GC's background work).
func Loop(b *testing.B, f func()) {
	b.Helper()
	c0 := cputime.Process()
	for b.Loop() {
		f()
	}
	if c := cputime.Process(); c0 > 0 && c > c0 && b.N > 0 {
		b.ReportMetric(float64(c-c0)/float64(time.Duration(b.N)), "cpu-ns/op")
	}
}
