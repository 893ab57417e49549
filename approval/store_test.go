package approval_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/approval/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) approval.Store { return approval.NewMemoryStore(0) })
}

func TestMemoryStoreEvictsFinalFirst(t *testing.T) {
	ctx := context.Background()
	s := approval.NewMemoryStore(3)
	for i, st := range []approval.Status{approval.StatusPending, approval.StatusUsed, approval.StatusPending} {
		r := &approval.Request{ID: fmt.Sprint("apr_", i), Key: fmt.Sprint("k", i), Status: st}
		_, _, err := s.Create(ctx, r, time.Hour)
		require.NoError(t, err)
	}
	_, _, err := s.Create(ctx, &approval.Request{ID: "apr_3", Key: "k3", Status: approval.StatusPending}, time.Hour)
	require.NoError(t, err)
	_, err = s.Get(ctx, "apr_1")
	require.ErrorIs(t, err, approval.ErrNotFound, "the final request goes first")
	for _, id := range []string{"apr_0", "apr_2", "apr_3"} {
		_, err := s.Get(ctx, id)
		require.NoError(t, err, "pending requests stay")
	}
}
