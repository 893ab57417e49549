package extproc

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
)

// Decision ids are a random per-process prefix plus a counter: unique,
// unguessable across restarts, and free of a syscall per call.
var (
	idPrefix  [8]byte
	idCounter atomic.Uint64
)

func init() {
	if _, err := rand.Read(idPrefix[:]); err != nil {
		// crypto/rand never fails on supported platforms; a zero prefix
		// only loses cross-process uniqueness.
		idPrefix = [8]byte{}
	}
}

// NewDecisionID returns a 32-hex-character identifier.
func NewDecisionID() string {
	var b [16]byte
	copy(b[:8], idPrefix[:])
	binary.BigEndian.PutUint64(b[8:], idCounter.Add(1))
	return hex.EncodeToString(b[:])
}
