package injection

import "sync/atomic"

// stepCounter counts the loop steps a Detector takes, so that the
// linear-work test can check the cost of 16x the input deterministically
// (timing is left to BenchmarkLinear). It is nil in every production
// detector: add is then one nil check per layer call, never per byte.
type stepCounter struct{ n atomic.Int64 }

func (c *stepCounter) add(n int) {
	if c != nil {
		c.n.Add(int64(n))
	}
}

// withSteps returns a copy of d (with its own copies of the layers) that
// counts its loop steps in c. For tests.
func (d *Detector) withSteps(c *stepCounter) *Detector {
	m, ps, sem := *d.m, *d.ps, *d.sem
	m.steps, ps.steps, sem.steps = c, c, c
	dc := *d
	dc.m, dc.ps, dc.sem, dc.steps = &m, &ps, &sem, c
	return &dc
}
