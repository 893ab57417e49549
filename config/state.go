package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/internal/redisopt"
)

// State is where replicated state lives and what each kind does when its
// store cannot be reached (the "state" section; see docs/replicas.md).
type State struct {
	// Redis is the Redis every replica shares (address, Sentinel or
	// Cluster; ACL user, password, TLS). Empty: state stays in memory.
	Redis redisopt.Options `yaml:"redis"`
	// Prefix starts every Redis key (default "portcullis:").
	Prefix string     `yaml:"prefix"`
	Vault  VaultState `yaml:"vault"`
	// OnUnavailable says what each state kind does when Redis fails.
	OnUnavailable OnUnavailable `yaml:"on_unavailable"`
}

// VaultState configures the PII surrogate vaults.
type VaultState struct {
	// Store is memory or redis (default: redis when state.redis is set).
	Store string `yaml:"store"`
	// Keys encrypt vault entries at rest (AES-256-GCM). The first key is
	// active; the others only open entries sealed before a rotation. Each
	// key is 32 bytes, raw or as 64 hex or base64 characters, from a file
	// or an environment variable. Required when store is redis.
	Keys []VaultKey `yaml:"keys"`
	// TTL is how long an idle vault lives (default 1h).
	TTL time.Duration `yaml:"ttl"`
	// MaxEntries bounds one vault (default 10000).
	MaxEntries int `yaml:"max_entries"`
	// MaxVaults bounds the vaults held in memory (default 10000).
	MaxVaults int `yaml:"max_vaults"`
	// MaxTotalEntries bounds the entries of all vaults held in memory
	// (default 200000); least recently used vaults are evicted first.
	MaxTotalEntries int `yaml:"max_total_entries"`
}

// VaultKey is one vault encryption key.
type VaultKey struct {
	ID   string `yaml:"id"`
	File string `yaml:"file"`
	Env  string `yaml:"env"`
}

// OnUnavailable values.
const (
	FailClosed = "fail_closed"
	FailOpen   = "fail_open"
)

// OnUnavailable is the behaviour of each state kind when its store fails.
type OnUnavailable struct {
	// Vault: fail_closed only (a call that needs the vault is refused with
	// a clear error; never forwarded with surrogates or clear values).
	Vault string `yaml:"vault"`
	// RateLimits: fail_closed (default; the call is blocked) or fail_open
	// (the limit is skipped).
	RateLimits string `yaml:"rate_limits"`
	// Pins: fail_closed (default; calls to pinned tools are blocked) or
	// fail_open (pins are not checked).
	Pins string `yaml:"pins"`
}

// Vault stores.
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
)

func (s *State) applyDefaults() {
	if s.Prefix == "" {
		s.Prefix = "portcullis:"
	}
	if s.Vault.Store == "" {
		s.Vault.Store = StoreMemory
		if s.Redis.Enabled() {
			s.Vault.Store = StoreRedis
		}
	}
	if s.Vault.TTL == 0 {
		s.Vault.TTL = time.Hour
	}
	if s.Vault.MaxEntries == 0 {
		s.Vault.MaxEntries = 10000
	}
	if s.Vault.MaxVaults == 0 {
		s.Vault.MaxVaults = 10000
	}
	if s.Vault.MaxTotalEntries == 0 {
		s.Vault.MaxTotalEntries = 200000
	}
	o := &s.OnUnavailable
	for _, p := range []*string{&o.Vault, &o.RateLimits, &o.Pins} {
		if *p == "" {
			*p = FailClosed
		}
	}
}

// validateState checks the state section (paths start with "state.").
func (c *Config) validateState(add func(path, format string, args ...any)) {
	s := &c.State
	if err := s.Redis.Validate(); err != nil {
		for _, e := range prefixErrors("state.redis", err) {
			path, msg, _ := strings.Cut(e.Error(), ": ")
			add(path, "%s", msg)
		}
	}
	if s.Redis.Enabled() && c.Behavior.Redis != "" {
		add("behavior.redis", "set only state.redis (behavior.redis is the older, address-only form)")
	}
	switch s.Vault.Store {
	case StoreMemory:
	case StoreRedis:
		if !s.Redis.Enabled() {
			add("state.vault.store", "redis needs state.redis")
		}
		if len(s.Vault.Keys) == 0 {
			add("state.vault.keys", "required when state.vault.store is redis (entries are encrypted at rest)")
		}
		if c.Detectors.HashKeyFile == "" {
			add("detectors.hash_key_file", "required when state.vault.store is redis: replicas must share the key that names vaults and derives surrogates")
		}
	default:
		add("state.vault.store", "must be memory or redis, got %q", s.Vault.Store)
	}
	seen := map[string]bool{}
	for i, k := range s.Vault.Keys {
		p := fmt.Sprintf("state.vault.keys[%d]", i)
		switch {
		case k.ID == "" || strings.ContainsAny(k.ID, ": "):
			add(p+".id", "required, without ':' or spaces, got %q", k.ID)
		case seen[k.ID]:
			add(p+".id", "duplicate key id %q", k.ID)
		}
		seen[k.ID] = true
		if (k.File == "") == (k.Env == "") {
			add(p+".file", "set exactly one of file and env")
		} else if _, err := k.Load(); err != nil {
			add(p, "%v", err)
		}
	}
	if s.Vault.TTL < 0 {
		add("state.vault.ttl", "must not be negative, got %s", s.Vault.TTL)
	}
	if s.Vault.MaxEntries < 0 {
		add("state.vault.max_entries", "must not be negative, got %d", s.Vault.MaxEntries)
	}
	if s.Vault.MaxVaults < 0 {
		add("state.vault.max_vaults", "must not be negative, got %d", s.Vault.MaxVaults)
	}
	if s.Vault.MaxTotalEntries < 0 {
		add("state.vault.max_total_entries", "must not be negative, got %d", s.Vault.MaxTotalEntries)
	}
	if v := s.OnUnavailable.Vault; v != "" && v != FailClosed {
		add("state.on_unavailable.vault", "must be fail_closed (a vault that cannot be reached refuses the call), got %q", v)
	}
	for _, f := range []struct{ path, v string }{{"state.on_unavailable.rate_limits", s.OnUnavailable.RateLimits}, {"state.on_unavailable.pins", s.OnUnavailable.Pins}} {
		if f.v != "" && f.v != FailClosed && f.v != FailOpen {
			add(f.path, "must be fail_closed or fail_open, got %q", f.v)
		}
	}
}

// Load reads the key: 32 raw bytes, or 64 hex or base64 characters
// (surrounding whitespace ignored). Errors never contain key material.
func (k VaultKey) Load() ([]byte, error) {
	var raw []byte
	if k.File != "" {
		b, err := os.ReadFile(k.File)
		if err != nil {
			return nil, fmt.Errorf("file: %w", err)
		}
		raw = b
	} else {
		v, ok := os.LookupEnv(k.Env)
		if !ok || v == "" {
			return nil, fmt.Errorf("env: environment variable %s is empty or unset", k.Env)
		}
		raw = []byte(v)
	}
	if len(raw) == 32 {
		return raw, nil
	}
	t := strings.TrimSpace(string(raw))
	if b, err := hex.DecodeString(t); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("key is not 32 bytes (raw, 64 hex or base64 characters); generate one with: openssl rand -hex 32")
}
