package dataplane

import (
	"net/http"
	"runtime"
	"testing"
)

// TestHoldAllocations: a buffered body is held in one buffer sized from its
// Content-Length, or grown by doubling when none is declared (issue 11
// #23: grown 1.25× at a time by append, a 3 MiB body allocated 5 bytes per
// byte). The chunks themselves are the reader's and not counted.
func TestHoldAllocations(t *testing.T) {
	const size, chunk = 3 << 20, 32 << 10
	chunks := make([][]byte, size/chunk)
	for i := range chunks {
		chunks[i] = make([]byte, chunk)
		chunks[i][0] = byte(i)
	}
	for _, tc := range []struct {
		name     string
		declared int64
		max      float64 // bytes allocated per body byte
	}{
		{"content-length", size, 1.01},
		// doubling from the first chunk: 64 KiB … 4 MiB, 2.65 for 3 MiB
		{"chunked", -1, 2.7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &exchange{p: &Proxy{limit: 8 << 20}, r: &http.Request{ContentLength: tc.declared}}
			d := &direction{kind: dReq}
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			for _, c := range chunks {
				x.hold(d, c)
			}
			runtime.ReadMemStats(&m1)
			if len(d.buf) != size || d.buf[chunk] != 1 || d.buf[size-chunk] != byte(len(chunks)-1) {
				t.Fatalf("held %d bytes, want %d in order", len(d.buf), size)
			}
			per := float64(m1.TotalAlloc-m0.TotalAlloc) / size
			if per > tc.max {
				t.Errorf("holding allocated %.2f bytes per body byte, want at most %.2f", per, tc.max)
			}
		})
	}
}
