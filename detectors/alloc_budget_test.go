package detectors

import (
	"fmt"
	"testing"
)

// TestScanJSONAllocBudget holds ScanJSON to its allocation budget on the
// benchmark documents (BenchmarkPipeline shows the same counts), so a change
// that brings back per-leaf or per-feature allocations fails here rather
// than in a benchmark nobody reads. Counts are deterministic apart from
// pooled scratch a GC may drop, which the slack covers; under -race pools
// drop items at random, so the test is skipped there.
func TestScanJSONAllocBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	e, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size   int
		budget float64 // measured 40 / 78 / 678 (issue 14 item 5) plus slack
	}{{1 << 10, 48}, {4 << 10, 90}, {64 << 10, 760}} {
		t.Run(fmt.Sprintf("%dKB", tc.size>>10), func(t *testing.T) {
			doc := benchDoc(tc.size)
			if _, err := e.ScanJSON(doc); err != nil { // warm pools and lazily compiled rules
				t.Fatal(err)
			}
			n := testing.AllocsPerRun(20, func() {
				if _, err := e.ScanJSON(doc); err != nil {
					t.Fatal(err)
				}
			})
			if n > tc.budget {
				t.Errorf("%.0f allocations per ScanJSON, budget %.0f", n, tc.budget)
			}
			t.Logf("%.0f allocations (budget %.0f)", n, tc.budget)
		})
	}
}
