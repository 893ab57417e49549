package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/policy/behavior"
	"github.com/portcullis-mcp/portcullis/policy/behavior/redisstore"
)

// countHook counts network round trips: one per command sent alone and one
// per pipeline.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestRoundTripsPerCall measures Redis round trips for one steady-state
// call (OnCall, then OnResult) of an agent whose resource and tool are
// known, with a rate limit, a sequence rule and pinning on; "sensitive" is a
// session whose earlier results carried PII values.
func TestRoundTripsPerCall(t *testing.T) {
	c := startRedis(t)
	h := &countHook{}
	c.AddHook(h)
	for _, tc := range []struct {
		name               string
		res                behavior.Result
		maxCall, maxResult float64
	}{
		{"plain", behavior.Result{Bytes: 100}, 1, 1},
		{"sensitive", behavior.Result{Bytes: 100, Sensitive: []string{"pii"}, Values: [][]byte{[]byte("alice@example.com"), []byte("4111 1111 1111 1111")}}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := redisstore.New(c, "rt:"+tc.name+":")
			e := behavior.New(behavior.Config{EgressTools: []string{"send_email"},
				RateLimits: []behavior.RateLimit{{Name: "agent", Scope: behavior.ScopeAgent, Limit: 1 << 30}}}, s, nil)
			ctx := context.Background()
			call := behavior.Call{Agent: "a", Session: "s", Server: "files", Tool: "read_file", Args: []byte(`{"path":"/srv/r.csv","note":"x y"}`)}
			res := tc.res
			res.Agent, res.Session, res.Server, res.Tool = "a", "s", "files", "read_file"
			// warm the script cache and the agent's sets
			for range 3 {
				e.OnCall(ctx, call)
				e.OnResult(ctx, res)
			}
			const n = 20
			before := h.n.Load()
			for range n {
				e.OnCall(ctx, call)
			}
			onCall := float64(h.n.Load()-before) / n
			before = h.n.Load()
			for range n {
				e.OnResult(ctx, res)
			}
			onResult := float64(h.n.Load()-before) / n
			t.Logf("%s: round trips per call: OnCall %.1f, OnResult %.1f", tc.name, onCall, onResult)
			require.Zero(t, e.StoreErrors())
			require.LessOrEqual(t, onCall, tc.maxCall, "OnCall round trips")
			require.LessOrEqual(t, onResult, tc.maxResult, "OnResult round trips")
		})
	}
}

// TestRoundTripsPinTools measures Redis round trips for a 20-tool
// tools/list re-checked against its pins (steady state), and for the
// listing that pins them first.
func TestRoundTripsPinTools(t *testing.T) {
	c := startRedis(t)
	h := &countHook{}
	c.AddHook(h)
	e := behavior.New(behavior.Config{}, redisstore.New(c, "rtp:"), nil)
	var defs []behavior.ToolDef
	for i := range 20 {
		defs = append(defs, behavior.ToolDef{Name: fmt.Sprint("tool", i), Raw: fmt.Appendf(nil, `{"name":"tool%d","description":"Does thing %d."}`, i, i)})
	}
	ctx := context.Background()
	before := h.n.Load()
	rep := e.PinTools(ctx, "srv", defs)
	first := h.n.Load() - before
	require.Len(t, rep.New, 20)
	before = h.n.Load()
	rep = e.PinTools(ctx, "srv", defs)
	again := h.n.Load() - before
	require.Empty(t, rep.New)
	require.Empty(t, rep.Changed)
	t.Logf("tools/list of 20 tools: %d round trips when first pinned, %d when re-checked", first, again)
	require.LessOrEqual(t, first, int64(4))
	require.LessOrEqual(t, again, int64(1))
	require.Zero(t, e.StoreErrors())
}
