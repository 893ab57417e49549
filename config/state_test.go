package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStateSection(t *testing.T) {
	dir := t.TempDir()
	hexKey := filepath.Join(dir, "k.hex")
	if err := os.WriteFile(hexKey, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("tooshort"), 0o600); err != nil {
		t.Fatal(err)
	}
	hashKey := filepath.Join(dir, "hash")
	if err := os.WriteFile(hashKey, []byte(strings.Repeat("h", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PC_TEST_VAULT_KEY", strings.Repeat("x", 32))
	const base = "listen: {proxy: 127.0.0.1:10000}\n"
	cases := []struct {
		name string
		in   string
		want []string // error lines; nil: valid
		chk  func(t *testing.T, c *Config)
	}{
		{"defaults", base, nil, func(t *testing.T, c *Config) {
			s := c.State
			if s.Vault.Store != StoreMemory || s.Prefix != "portcullis:" || s.Vault.TTL != time.Hour || s.Vault.MaxEntries != 10000 ||
				s.OnUnavailable.Vault != FailClosed || s.OnUnavailable.RateLimits != FailClosed || s.OnUnavailable.Pins != FailClosed {
				t.Fatalf("defaults: %+v", s)
			}
		}},
		{"redis shared vault", base + "detectors: {hash_key_file: " + hashKey + "}\nstate:\n  redis: {address: 127.0.0.1:6379}\n  vault:\n    keys: [{id: k2, file: " + hexKey + "}, {id: k1, env: PC_TEST_VAULT_KEY}]\n  on_unavailable: {pins: fail_open}\n", nil,
			func(t *testing.T, c *Config) {
				if c.State.Vault.Store != StoreRedis || c.State.OnUnavailable.Pins != FailOpen || c.State.OnUnavailable.RateLimits != FailClosed {
					t.Fatalf("%+v", c.State)
				}
				for _, k := range c.State.Vault.Keys {
					if b, err := k.Load(); err != nil || len(b) != 32 {
						t.Fatalf("key %s: %v", k.ID, err)
					}
				}
			}},
		{"redis vault needs keys and hash key", base + "state: {redis: {address: 127.0.0.1:6379}}\n", []string{
			"state.vault.keys: required when state.vault.store is redis",
			"detectors.hash_key_file: required when state.vault.store is redis",
		}, nil},
		{"redis store without redis", base + "state: {vault: {store: redis, keys: [{id: a, env: PC_TEST_VAULT_KEY}]}}\n", []string{
			"state.vault.store: redis needs state.redis",
			"detectors.hash_key_file: required",
		}, nil},
		{"bad values", base + "state:\n  redis: {address: nohost, username: u, tls: {ca_file: /x}}\n  vault: {store: disk, ttl: -1s, keys: [{id: 'a:b', file: " + short + "}, {id: c}]}\n  on_unavailable: {vault: fail_open, rate_limits: maybe}\n", []string{
			"state.redis.address: want host:port",
			"state.redis.password_file: an ACL username needs a password",
			"state.redis.tls.enabled: ",
			"state.redis.tls.ca_file: stat /x",
			"state.vault.store: must be memory or redis",
			"state.vault.keys[0].id: required, without ':'",
			"state.vault.keys[0]: key is not 32 bytes",
			"state.vault.keys[1].file: set exactly one of file and env",
			"state.vault.ttl: must not be negative",
			"state.on_unavailable.vault: must be fail_closed",
			"state.on_unavailable.rate_limits: must be fail_closed or fail_open",
		}, nil},
		{"legacy and new redis", base + "behavior: {redis: 127.0.0.1:6379}\nstate: {redis: {address: 127.0.0.1:6379}, vault: {store: memory}}\n", []string{
			"behavior.redis: set only state.redis",
		}, nil},
		{"unknown key", base + "state: {vault: {kyes: []}}\n", []string{"state.vault.kyes: unknown field"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if tc.chk != nil {
					tc.chk(t, c)
				}
				return
			}
			if err == nil {
				t.Fatal("want errors")
			}
			got := strings.Split(err.Error(), "\n")
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(g, w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing error %q in:\n%s", w, err)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%s", len(got), len(tc.want), err)
			}
			if strings.Contains(err.Error(), strings.Repeat("x", 32)) || strings.Contains(err.Error(), "tooshort") {
				t.Fatal("key material in an error")
			}
		})
	}
}

// TestReplicasDocExample: the configuration example in docs/replicas.md
// decodes strictly into Config (no unknown or misspelt keys).
func TestReplicasDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/replicas.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block in docs/replicas.md")
	}
	var c Config
	if err := DecodeStrict([]byte(block), &c); err != nil {
		t.Fatalf("docs/replicas.md example: %v", err)
	}
	if !c.State.Redis.Enabled() || len(c.State.Vault.Keys) != 2 || c.State.OnUnavailable.Pins != FailClosed {
		t.Fatalf("example decoded to %+v", c.State)
	}
}
