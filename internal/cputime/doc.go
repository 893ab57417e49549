// Package cputime reads the CPU time (user + system) this process has used.
// On a shared machine wall-clock time per operation includes time spent
// waiting for a core; CPU time per operation does not, so benchmarks report
// both. It owns no state; where the platform cannot tell, Process returns 0
// and callers report nothing.
package cputime
