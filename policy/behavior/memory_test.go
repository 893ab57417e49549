package behavior_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/policy/behavior"
	"github.com/portcullis-mcp/portcullis/policy/behavior/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) behavior.Store { return behavior.NewMemoryStore(behavior.MemoryOptions{}) }, true)
}

func TestMemoryStoreBounded(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name       string
		opts       behavior.MemoryOptions
		maxEntries int
		maxBytes   int64
	}{
		{"entries", behavior.MemoryOptions{MaxEntries: 256, Shards: 4}, 256, 1 << 30},
		{"bytes", behavior.MemoryOptions{MaxBytes: 64 << 10, Shards: 4}, 1 << 30, 64 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := behavior.NewMemoryStore(tc.opts)
			require.NoError(t, s.Put(ctx, "pin", []byte("never evicted"), 0))
			out := make([]int64, 4)
			for i := range 5000 {
				require.NoError(t, s.Add(ctx, fmt.Sprint("agent-", i), []int64{1, 2, 3, 4}, out, time.Hour))
				_, err := s.SetAdd(ctx, fmt.Sprint("set-", i%100), fmt.Sprint("member-", i), 1000, time.Hour)
				require.NoError(t, err)
			}
			require.LessOrEqual(t, s.Len(), tc.maxEntries)
			require.LessOrEqual(t, s.Bytes(), tc.maxBytes)
			require.Positive(t, s.Evictions())
			v, err := s.Get(ctx, "pin")
			require.NoError(t, err)
			require.Equal(t, []byte("never evicted"), v)
			// Recently used entries survive.
			require.NoError(t, s.Add(ctx, "agent-4999", []int64{0, 0, 0, 0}, out, time.Hour))
			require.Equal(t, []int64{1, 2, 3, 4}, out)
		})
	}
}

func TestMemoryStoreExpiryWithClock(t *testing.T) {
	now := time.Unix(1000, 0)
	s := behavior.NewMemoryStore(behavior.MemoryOptions{Now: func() time.Time { return now }})
	ctx := t.Context()
	out := make([]int64, 1)
	require.NoError(t, s.Add(ctx, "k", []int64{1}, out, time.Minute))
	require.Equal(t, 1, s.Len())
	now = now.Add(2 * time.Minute)
	require.NoError(t, s.Add(ctx, "k", []int64{0}, out, time.Minute))
	require.Equal(t, []int64{0}, out)
	require.Zero(t, s.Len())
	require.Zero(t, s.Bytes())
}
