// Package storetest is the conformance suite every approval.Store passes.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
)

func req(id, key string) *approval.Request {
	return &approval.Request{ID: id, Key: key, Status: approval.StatusPending, Created: time.Unix(1700000000, 0).UTC(),
		Expires: time.Unix(1700000900, 0).UTC(), Nonce: "n-" + id, Policy: approval.Policy{Quorum: 1, OnTimeout: approval.StatusRejected},
		Binding: approval.Binding{Principal: "agent", Server: "files", Method: "tools/call", Tool: "write_file", ArgsDigest: "sha256:00"}}
}

// Run checks a Store built fresh by newStore for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) approval.Store) {
	ctx := context.Background()
	t.Run("create get bykey", func(t *testing.T) {
		s := newStore(t)
		r := req("apr_a", "k1")
		r.Arguments = []byte(`{"path":"x"}`)
		cur, created, err := s.Create(ctx, r, time.Hour)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "apr_a", cur.ID)
		got, err := s.Get(ctx, "apr_a")
		require.NoError(t, err)
		require.Equal(t, r.Binding.Tool, got.Binding.Tool)
		require.JSONEq(t, `{"path":"x"}`, string(got.Arguments))
		require.True(t, got.Created.Equal(r.Created))
		byKey, err := s.ByKey(ctx, "k1")
		require.NoError(t, err)
		require.Equal(t, "apr_a", byKey.ID)
		none, err := s.ByKey(ctx, "other")
		require.NoError(t, err)
		require.Nil(t, none)
		_, err = s.Get(ctx, "apr_missing")
		require.ErrorIs(t, err, approval.ErrNotFound)
	})
	t.Run("create keeps the live request for a key", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.Create(ctx, req("apr_a", "k1"), time.Hour)
		require.NoError(t, err)
		cur, created, err := s.Create(ctx, req("apr_b", "k1"), time.Hour)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, "apr_a", cur.ID)
		require.NoError(t, s.Release(ctx, "k1", "apr_other"), "release by a stale id is a no-op")
		got, _ := s.ByKey(ctx, "k1")
		require.Equal(t, "apr_a", got.ID)
		require.NoError(t, s.Release(ctx, "k1", "apr_a"))
		got, _ = s.ByKey(ctx, "k1")
		require.Nil(t, got)
		cur, created, err = s.Create(ctx, req("apr_b", "k1"), time.Hour)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "apr_b", cur.ID)
		old, err := s.Get(ctx, "apr_a")
		require.NoError(t, err, "released requests stay readable")
		require.Equal(t, "apr_a", old.ID)
	})
	t.Run("update and abort", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.Create(ctx, req("apr_a", "k1"), time.Hour)
		require.NoError(t, err)
		u, err := s.Update(ctx, "apr_a", func(r *approval.Request) error {
			r.Status = approval.StatusApproved
			r.Votes = append(r.Votes, approval.Vote{By: "alice", Approve: true})
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, approval.StatusApproved, u.Status)
		boom := errors.New("boom")
		_, err = s.Update(ctx, "apr_a", func(r *approval.Request) error {
			r.Status = approval.StatusRejected
			return boom
		})
		require.ErrorIs(t, err, boom)
		got, _ := s.Get(ctx, "apr_a")
		require.Equal(t, approval.StatusApproved, got.Status, "an aborted update writes nothing")
		require.Equal(t, []string{"alice"}, got.Deciders())
		_, err = s.Update(ctx, "apr_missing", func(*approval.Request) error { return nil })
		require.ErrorIs(t, err, approval.ErrNotFound)
	})
	t.Run("concurrent updates are serialised", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.Create(ctx, req("apr_a", "k1"), time.Hour)
		require.NoError(t, err)
		var wg sync.WaitGroup
		var won atomic.Int32
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Update(ctx, "apr_a", func(r *approval.Request) error {
					if r.Status != approval.StatusPending {
						return approval.ErrConflict
					}
					r.Status = approval.StatusUsed
					r.Reason = fmt.Sprint(i)
					return nil
				})
				if err == nil {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), won.Load(), "exactly one compare-and-swap wins")
	})
	t.Run("list newest first", func(t *testing.T) {
		s := newStore(t)
		for i := range 5 {
			r := req(fmt.Sprintf("apr_%d", i), fmt.Sprintf("k%d", i))
			r.Created = r.Created.Add(time.Duration(i) * time.Second)
			_, _, err := s.Create(ctx, r, time.Hour)
			require.NoError(t, err)
		}
		rs, err := s.List(ctx, 3)
		require.NoError(t, err)
		require.Len(t, rs, 3)
		require.Equal(t, []string{"apr_4", "apr_3", "apr_2"}, []string{rs[0].ID, rs[1].ID, rs[2].ID})
	})
}
