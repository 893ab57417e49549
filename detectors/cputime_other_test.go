//go:build !linux

package detectors

import "time"

// processCPU is not measured off Linux (benchmarks then omit cpu-ns/op).
func processCPU() time.Duration { return 0 }
