//go:build race

package normalize

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocated bytes are not meaningful under -race.
const raceEnabled = true
