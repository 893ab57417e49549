// Package exserve runs an example server's HTTP handler until its context
// ends, then shuts it down gracefully. It is shared by the example commands so
// that each main stays a few lines long.
package exserve
