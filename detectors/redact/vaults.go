package redact

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// VaultsOptions configure a set of vaults. Zero values get defaults.
type VaultsOptions struct {
	// MaxVaults bounds the vaults kept in this process (memory mode;
	// default 10000). The least recently used vault is evicted, in O(1).
	MaxVaults int
	// TTL is how long an idle vault and its entries live (default 1h).
	TTL time.Duration
	// MaxEntries bounds one vault (default 10000). In memory the oldest
	// entry is evicted; a shared vault refuses new entries (ErrVaultFull).
	MaxEntries int
	// MaxTotalEntries bounds the entries of all vaults held in memory
	// (default 200000; measured 265 B per entry of a 24-byte email, about
	// 50 MB): when a call finds the set above it,
	// least recently used vaults are evicted. Between two calls the set
	// can exceed it by at most MaxEntries per vault in use.
	MaxTotalEntries int
	// Key is the HMAC key of hash and synthetic surrogates and of vault
	// names. Replicas sharing a store must share it. Default random.
	Key []byte
	// Store shares vaults between replicas; nil keeps them in memory.
	Store Store
	// Sealer encrypts entries at rest; required with Store.
	Sealer *Sealer
	// Now is the clock (tests).
	Now func() time.Time
}

// Vaults is the set of vaults of a gateway, one per binding (the caller
// builds the binding from the authenticated principal, the route and the
// session, so no client can name another's vault). Safe for concurrent use.
type Vaults struct {
	opts  VaultsOptions
	mu    sync.Mutex
	m     map[string]*list.Element // binding -> *memVault, memory mode
	lru   *list.List               // front: most recently used
	total atomic.Int64             // entries in all held vaults (approximate)
}

type memVault struct {
	binding string
	v       *Vault
	used    time.Time
}

// ErrNoSealer is returned by NewVaults for a Store without a Sealer.
var ErrNoSealer = errors.New("redact: a vault store needs a sealer (encryption key)")

// NewVaults returns an empty set.
func NewVaults(o VaultsOptions) (*Vaults, error) {
	if o.MaxVaults <= 0 {
		o.MaxVaults = 10000
	}
	if o.TTL <= 0 {
		o.TTL = time.Hour
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 10000
	}
	if o.MaxTotalEntries <= 0 {
		o.MaxTotalEntries = 200000
	}
	if len(o.Key) == 0 {
		o.Key = make([]byte, 32)
		if _, err := rand.Read(o.Key); err != nil {
			return nil, err
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Store != nil && o.Sealer == nil {
		return nil, ErrNoSealer
	}
	return &Vaults{opts: o, m: map[string]*list.Element{}, lru: list.New()}, nil
}

// Shared reports whether vaults live in a Store.
func (vs *Vaults) Shared() bool { return vs.opts.Store != nil }

// Entries is the number of entries in all vaults held in this process
// (memory mode; a gauge for metrics).
func (vs *Vaults) Entries() int64 { return vs.total.Load() }

// Len is the number of vaults held in this process (memory mode).
func (vs *Vaults) Len() int {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.lru.Len()
}

func (vs *Vaults) vaultOptions() VaultOptions {
	return VaultOptions{TTL: vs.opts.TTL, MaxEntries: vs.opts.MaxEntries, Key: vs.opts.Key, Now: vs.opts.Now}
}

// name is the vault's name in the store: a keyed digest of the binding.
func (vs *Vaults) name(binding string) string {
	m := hmac.New(sha256.New, vs.opts.Key)
	m.Write([]byte("vault\x00"))
	m.Write([]byte(binding))
	return hex.EncodeToString(m.Sum(nil)[:20])
}

// Get returns the binding's vault, creating it. A shared vault is a handle
// for one call (ctx): it loads from the store on first use, and its
// operations return store errors (wrapping ErrUnavailable).
func (vs *Vaults) Get(ctx context.Context, binding string) (*Vault, error) {
	if vs.opts.Store != nil {
		v := NewVault(vs.vaultOptions())
		v.shared = &sharedVault{ctx: ctx, store: vs.opts.Store, sealer: vs.opts.Sealer, name: vs.name(binding),
			key: vs.opts.Key, ttl: vs.opts.TTL, max: vs.opts.MaxEntries}
		return v, nil
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	now := vs.opts.Now()
	vs.expire(now)
	if el, ok := vs.m[binding]; ok {
		mv := el.Value.(*memVault)
		mv.used = now
		vs.lru.MoveToFront(el)
		vs.shrink()
		return mv.v, nil
	}
	for vs.lru.Len() >= vs.opts.MaxVaults {
		vs.drop(vs.lru.Back())
	}
	v := NewVault(vs.vaultOptions())
	v.total = &vs.total
	mv := &memVault{binding: binding, v: v, used: now}
	vs.m[binding] = vs.lru.PushFront(mv)
	vs.shrink()
	return mv.v, nil
}

// shrink evicts least recently used vaults (never the front one, in use
// by this call) while all vaults together hold more than MaxTotalEntries.
func (vs *Vaults) shrink() {
	for vs.total.Load() > int64(vs.opts.MaxTotalEntries) && vs.lru.Len() > 1 {
		vs.drop(vs.lru.Back())
	}
}

// Lookup returns the binding's vault loaded and ready to restore, or nil
// when it has no entries (nothing to restore). A shared vault that cannot
// be loaded returns the store's error: the caller must refuse the call
// rather than forward surrogates.
func (vs *Vaults) Lookup(ctx context.Context, binding string) (*Vault, error) {
	if vs.opts.Store != nil {
		v, _ := vs.Get(ctx, binding)
		v.mu.Lock()
		err := v.loadLocked()
		n := len(v.bySurr)
		v.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		return v, nil
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	now := vs.opts.Now()
	vs.expire(now)
	el, ok := vs.m[binding]
	if !ok {
		return nil, nil
	}
	mv := el.Value.(*memVault)
	mv.used = now
	vs.lru.MoveToFront(el)
	return mv.v, nil
}

// expire drops idle vaults from the back of the LRU list: amortised O(1)
// per call, each vault is dropped once.
func (vs *Vaults) expire(now time.Time) {
	for el := vs.lru.Back(); el != nil; el = vs.lru.Back() {
		if now.Sub(el.Value.(*memVault).used) <= vs.opts.TTL {
			return
		}
		vs.drop(el)
	}
}

func (vs *Vaults) drop(el *list.Element) {
	mv := vs.lru.Remove(el).(*memVault)
	delete(vs.m, mv.binding)
	// A call may still hold the vault; it keeps working, uncounted.
	mv.v.detached.Store(true)
	vs.total.Add(-mv.v.live.Load())
}
