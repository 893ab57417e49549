package behavior

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// benchConfig is a realistic policy section: egress tools, two sequences,
// verbatim checks and three rate limits.
func benchConfig() Config {
	return Config{
		EgressTools: []string{"send_email", "http/*"},
		RateLimits: []RateLimit{
			{Scope: ScopeAgent, Limit: 1 << 30},
			{Scope: ScopeTool, Match: "db/*", Limit: 1 << 30},
			{Scope: ScopeServer, Limit: 1 << 30},
		},
	}
}

var sinkVerdict Verdict

//go:noinline
func noopOnCall(_ context.Context, c Call) Verdict {
	if len(c.Agent) == 0 {
		return Verdict{Score: 1}
	}
	return Verdict{}
}

// BenchmarkCall is one call's update and score (OnCall + OnResult, as the
// processor does per tools/call) for a warmed-up agent whose session has
// seen sensitive values, side by side with a no-op baseline.
func BenchmarkCall(b *testing.B) {
	args := []byte(`{"path":"/srv/public/reports/q3.csv","note":"summarise for alice"}`)
	b.Run("noop", func(b *testing.B) {
		c := Call{Agent: "agent-1", Session: "sess-1", Server: "files", Tool: "read_file", Args: args}
		b.ReportAllocs()
		for b.Loop() {
			sinkVerdict = noopOnCall(context.Background(), c)
		}
	})
	b.Run("memory", func(b *testing.B) {
		e := New(benchConfig(), NewMemoryStore(MemoryOptions{}), nil)
		ctx := context.Background()
		c := Call{Agent: "agent-1", Session: "sess-1", Server: "files", Tool: "read_file", Args: args}
		r := Result{Agent: "agent-1", Session: "sess-1", Server: "files", Tool: "read_file", Bytes: 2048, Records: 10}
		e.OnResult(ctx, Result{Agent: "agent-1", Session: "sess-1", Sensitive: []string{"pii"}, Values: [][]byte{[]byte("4111 1111 1111 1111"), []byte("bob@example.com")}})
		b.ReportAllocs()
		for b.Loop() {
			sinkVerdict = e.OnCall(ctx, c)
			e.OnResult(ctx, r)
		}
	})
	b.Run("memory-no-session-state", func(b *testing.B) {
		e := New(Config{}, NewMemoryStore(MemoryOptions{}), nil)
		ctx := context.Background()
		c := Call{Agent: "agent-1", Session: "sess-1", Server: "files", Tool: "read_file", Args: args}
		r := Result{Agent: "agent-1", Session: "sess-1", Server: "files", Tool: "read_file", Bytes: 2048, Records: 10}
		b.ReportAllocs()
		for b.Loop() {
			sinkVerdict = e.OnCall(ctx, c)
			e.OnResult(ctx, r)
		}
	})
}

// BenchmarkParallel64 measures lock contention: 64 goroutines (SetParallelism
// scaled to GOMAXPROCS) issuing calls, either each as its own agent and
// session or all as one hot agent, next to the no-op baseline.
func BenchmarkParallel64(b *testing.B) {
	args := []byte(`{"path":"/srv/public/reports/q3.csv"}`)
	par := max(64/runtime.GOMAXPROCS(0), 1)
	run := func(b *testing.B, agents int, noop bool) {
		e := New(benchConfig(), NewMemoryStore(MemoryOptions{}), nil)
		ctx := context.Background()
		var id atomic.Int64
		b.SetParallelism(par)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := id.Add(1)
			a := fmt.Sprint("agent-", n%int64(agents))
			c := Call{Agent: a, Session: a, Server: "files", Tool: "read_file", Args: args}
			r := Result{Agent: a, Session: a, Server: "files", Tool: "read_file", Bytes: 2048, Records: 10}
			for pb.Next() {
				if noop {
					sinkVerdict = noopOnCall(ctx, c)
					continue
				}
				v := e.OnCall(ctx, c)
				e.OnResult(ctx, r)
				if v.Score < 0 {
					b.Error("negative score")
				}
			}
		})
	}
	b.Run("noop", func(b *testing.B) { run(b, 64, true) })
	b.Run("64-agents", func(b *testing.B) { run(b, 64, false) })
	b.Run("1-hot-agent", func(b *testing.B) { run(b, 1, false) })
}

// BenchmarkPinTools is a 20-tool tools/list re-checked against its pins.
func BenchmarkPinTools(b *testing.B) {
	e := New(Config{}, nil, nil)
	var defs []ToolDef
	for i := range 20 {
		defs = append(defs, ToolDef{Name: fmt.Sprint("tool", i), Raw: fmt.Appendf(nil, `{"name":"tool%d","description":"Does thing %d.","inputSchema":{"type":"object","properties":{"x":{"type":"string"}}},"annotations":{"readOnlyHint":true}}`, i, i)})
	}
	ctx := context.Background()
	e.PinTools(ctx, "srv", defs)
	b.ReportAllocs()
	for b.Loop() {
		e.PinTools(ctx, "srv", defs)
	}
}
