package gateway

import (
	"cmp"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/policy"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
	"github.com/portcullis-mcp/portcullis/policy/behavior/redisstore"
)

// behaviors holds the behaviour engine built from the active policy's
// spec.behavior. A reload rebuilds the engine over the same store, so
// baselines and sessions survive policy changes.
type behaviors struct {
	store behavior.Store
	now   func() time.Time          // nil: time.Now
	onErr behavior.StoreErrorPolicy // state.on_unavailable (gateway/state.go)
	cur   atomic.Pointer[behavior.Engine]
}

func newBehaviors(cfg *config.Config, now func() time.Time) (*behaviors, func()) {
	b := &behaviors{now: now}
	if addr := cfg.Behavior.Redis; addr != "" {
		c := redis.NewClient(&redis.Options{Addr: addr})
		b.store = redisstore.New(c, cmp.Or(cfg.Behavior.Prefix, "portcullis:bh:"))
		return b, func() { _ = c.Close() }
	}
	b.store = behavior.NewMemoryStore(behavior.MemoryOptions{MaxEntries: cfg.Behavior.MaxEntries, MaxBytes: cfg.Behavior.MaxBytes})
	return b, func() {}
}

// update rebuilds the engine for p (nil p or no spec.behavior: no engine).
func (b *behaviors) update(p *policy.Policy) {
	if p == nil {
		b.cur.Store(nil)
		return
	}
	bc, ok := p.Behavior()
	if !ok {
		b.cur.Store(nil)
		return
	}
	bc.OnStoreError = b.onErr
	b.cur.Store(behavior.New(bc, b.store, b.now))
}

// Current implements extproc.BehaviorSource.
func (b *behaviors) Current() extproc.Behavior {
	if e := b.cur.Load(); e != nil {
		return e
	}
	return nil
}

var _ extproc.BehaviorSource = (*behaviors)(nil)
var _ extproc.Behavior = (*behavior.Engine)(nil)
