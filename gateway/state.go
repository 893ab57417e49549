package gateway

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/detectors/redact"
	"github.com/portcullis-mcp/portcullis/detectors/redact/redisvault"
	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/policy/behavior"
	"github.com/portcullis-mcp/portcullis/policy/behavior/redisstore"
)

// sharedState is the state several replicas share (the state section):
// one Redis client for the PII vaults and the behaviour store (counters,
// rate limits, tool pins), and what each does when Redis fails.
type sharedState struct {
	redis  redis.UniversalClient // nil: everything in memory
	prefix string
	vault  redact.VaultsOptions
	shared bool // vaults live in Redis
	onErr  behavior.StoreErrorPolicy
}

// sharedState builds the state from cfg; the Redis client closes with the
// gateway. Redis is not required to be up: calls that need it fail as
// state.on_unavailable says until it answers.
func (g *Gateway) sharedState(cfg *config.Config) (*sharedState, error) {
	s := cfg.State
	st := &sharedState{prefix: s.Prefix, onErr: behavior.StoreErrorPolicy{
		RateLimitsOpen: s.OnUnavailable.RateLimits == config.FailOpen,
		PinsOpen:       s.OnUnavailable.Pins == config.FailOpen,
	}}
	st.vault = redact.VaultsOptions{MaxVaults: s.Vault.MaxVaults, TTL: s.Vault.TTL, MaxEntries: s.Vault.MaxEntries, MaxTotalEntries: s.Vault.MaxTotalEntries}
	if !s.Redis.Enabled() {
		return st, nil
	}
	c, err := s.Redis.Client()
	if err != nil {
		return nil, fmt.Errorf("state.redis: %w", err)
	}
	g.finals = append(g.finals, func() { _ = c.Close() })
	st.redis = c
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		g.logger.Warn("state: Redis does not answer; calls that need shared state fail as state.on_unavailable says until it does",
			"redis", s.Redis.String(), "error", err)
	}
	if s.Vault.Store == config.StoreRedis {
		keys := map[string][]byte{}
		for i, k := range s.Vault.Keys {
			b, err := k.Load()
			if err != nil {
				return nil, fmt.Errorf("state.vault.keys[%d]: %w", i, err)
			}
			keys[k.ID] = b
		}
		sealer, err := redact.NewSealer(s.Vault.Keys[0].ID, keys)
		if err != nil {
			return nil, fmt.Errorf("state.vault.keys: %w", err)
		}
		st.vault.Store, st.vault.Sealer, st.shared = redisvault.New(c, s.Prefix+"vault:"), sealer, true
	}
	return st, nil
}

// behaviors puts the behaviour engine on the shared store and applies the
// on_unavailable policy (b may be nil when no policy file is configured).
func (st *sharedState) behaviors(b *behaviors) {
	if b == nil {
		return
	}
	b.onErr = st.onErr
	if st.redis != nil {
		b.store = redisstore.New(st.redis, st.prefix+"bh:")
	}
}

// detector gives the detector adapter the configured vault set, keyed by
// the adapter's surrogate key (detectors.hash_key_file), which also names
// shared vaults.
func (st *sharedState) detector(d extproc.Detector) error {
	a, ok := d.(*detectorAdapter)
	if !ok {
		return nil
	}
	o := st.vault
	o.Key = a.key
	set, err := redact.NewVaults(o)
	if err != nil {
		return fmt.Errorf("state.vault: %w", err)
	}
	vs := &vaults{opts: o}
	vs.set.Store(set)
	a.vaults = vs
	return nil
}

// vaults adapts redact.Vaults to the detector adapter.
type vaults struct {
	opts redact.VaultsOptions
	mu   sync.Mutex
	set  atomic.Pointer[redact.Vaults]
}

// newVaults returns an in-memory set: at most max vaults, idle ones
// dropped after idle, least recently used evicted in O(1). It is built on
// first use with the adapter's surrogate key.
func newVaults(max int, idle time.Duration) *vaults {
	return &vaults{opts: redact.VaultsOptions{MaxVaults: max, TTL: idle}}
}

func (vs *vaults) load(key []byte) *redact.Vaults {
	if set := vs.set.Load(); set != nil || key == nil {
		return set
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if set := vs.set.Load(); set != nil {
		return set
	}
	o := vs.opts
	o.Key = key
	set, err := redact.NewVaults(o)
	if err != nil {
		return nil // only a store without a sealer fails, which sharedState never builds
	}
	vs.set.Store(set)
	return set
}

// get returns the vault named by a binding, creating it. A shared vault is
// a lazy handle: its store errors surface from Redact and Restore, which
// the processor turns into a refusal (fail closed).
func (vs *vaults) get(name string, key []byte) *redact.Vault {
	set := vs.load(key)
	if set == nil {
		return nil
	}
	v, _ := set.Get(context.Background(), name)
	return v
}

// lookup returns the vault to restore from (nil: nothing to restore). A
// shared vault is returned unloaded, so RestoreJSON reports a store error
// instead of restoring nothing.
func (vs *vaults) lookup(name string) *redact.Vault {
	set := vs.load(nil)
	if set == nil {
		return nil // nothing was ever minted here
	}
	if set.Shared() {
		v, _ := set.Get(context.Background(), name)
		return v
	}
	v, _ := set.Lookup(context.Background(), name)
	return v
}
