//go:build !unix

package injection

import "time"

// processCPU is not measured here (benchmarks then omit cpu-ns/op).
func processCPU() time.Duration { return 0 }
