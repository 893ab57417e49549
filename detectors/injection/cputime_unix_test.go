//go:build unix

package injection

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used, 0
// where getrusage fails.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
