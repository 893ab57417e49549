package redact_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/detectors/redact"
	"github.com/portcullis-mcp/portcullis/detectors/redact/vaulttest"
)

func TestMemoryStoreContract(t *testing.T) {
	vaulttest.Run(t, func(*testing.T) redact.Store { return redact.NewMemoryStore(nil) })
}

// TestStoreDownFailsClosed: with the store unreachable nothing is redacted
// or restored silently; every operation returns ErrUnavailable.
func TestStoreDownFailsClosed(t *testing.T) {
	ctx := context.Background()
	vs, err := redact.NewVaults(redact.VaultsOptions{Store: vaulttest.Failing{}, Sealer: vaulttest.Sealer(t, "k1")})
	require.NoError(t, err)
	v, err := vs.Get(ctx, "a|r|s")
	require.NoError(t, err)
	_, err = redact.Redact("mail a@b.example", []redact.Span{{Type: "EMAIL_ADDRESS", Start: 5, End: 16}}, redact.Mask, v)
	require.ErrorIs(t, err, redact.ErrUnavailable)
	_, _, err = v.RestoreJSON([]byte(`{"x":"[EMAIL_1]"}`))
	require.ErrorIs(t, err, redact.ErrUnavailable)
	_, _, err = v.RestoreText("[EMAIL_1]")
	require.ErrorIs(t, err, redact.ErrUnavailable)
	_, err = vs.Lookup(ctx, "a|r|s")
	require.ErrorIs(t, err, redact.ErrUnavailable)
	_, err = redact.NewVaults(redact.VaultsOptions{Store: vaulttest.Failing{}})
	require.ErrorIs(t, err, redact.ErrNoSealer)
}

func TestSealer(t *testing.T) {
	k := make([]byte, 32)
	for _, tc := range []struct {
		active string
		keys   map[string][]byte
		err    string
	}{
		{"k1", map[string][]byte{"k1": k}, ""},
		{"k2", map[string][]byte{"k1": k}, `active key id "k2" has no key`},
		{"k1", map[string][]byte{"k1": k[:16]}, "16 bytes, want 32"},
		{"a:b", map[string][]byte{"a:b": k}, "bad key id"},
	} {
		s, err := redact.NewSealer(tc.active, tc.keys)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		sealed, err := s.Seal("vault\x00[EMAIL_1]", "mask|EMAIL_ADDRESS|a@b.example")
		require.NoError(t, err)
		require.NotContains(t, sealed, "a@b")
		got, err := s.Open("vault\x00[EMAIL_1]", sealed)
		require.NoError(t, err)
		require.Equal(t, "mask|EMAIL_ADDRESS|a@b.example", got)
		_, err = s.Open("vault\x00[EMAIL_2]", sealed)
		require.ErrorIs(t, err, redact.ErrSealed, "an entry moved to another surrogate does not open")
		_, err = s.Open("vault\x00[EMAIL_1]", sealed[:len(sealed)-2]+"AA")
		require.ErrorIs(t, err, redact.ErrSealed)
		_, err = s.Open("x", "garbage")
		require.ErrorIs(t, err, redact.ErrSealed)
	}
}

// TestVaultsLRU: the memory set keeps MaxVaults vaults, evicting the least
// recently used one, and drops idle vaults after TTL (fake clock).
func TestVaultsLRU(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	vs, err := redact.NewVaults(redact.VaultsOptions{MaxVaults: 3, TTL: time.Minute, Now: clock})
	require.NoError(t, err)
	get := func(b string) *redact.Vault {
		v, err := vs.Get(ctx, b)
		require.NoError(t, err)
		return v
	}
	va := get("a")
	_, err = redact.Redact("x a@b.example", []redact.Span{{Type: "EMAIL_ADDRESS", Start: 2, End: 13}}, redact.Mask, va)
	require.NoError(t, err)
	get("b")
	get("c")
	require.Same(t, va, get("a"), "a is now most recently used")
	get("d") // evicts b, the least recently used
	require.Equal(t, 3, vs.Len())
	lb, err := vs.Lookup(ctx, "b")
	require.NoError(t, err)
	require.Nil(t, lb)
	la, err := vs.Lookup(ctx, "a")
	require.NoError(t, err)
	require.Same(t, va, la)
	now = now.Add(2 * time.Minute)
	get("e") // everything else is idle
	require.Equal(t, 1, vs.Len())
	la, err = vs.Lookup(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, la)
}

// TestVaultsTotalBound: all vaults together stay under MaxTotalEntries (the
// least recently used vaults go first); the count follows evictions.
func TestVaultsTotalBound(t *testing.T) {
	ctx := context.Background()
	vs, err := redact.NewVaults(redact.VaultsOptions{MaxTotalEntries: 10, MaxEntries: 8, Key: []byte("k")})
	require.NoError(t, err)
	fill := func(binding string, n int) *redact.Vault {
		v, err := vs.Get(ctx, binding)
		require.NoError(t, err)
		for i := range n {
			_, err := v.Surrogate(redact.Mask, "EMAIL_ADDRESS", fmt.Sprint(binding, i, "@x.example"), "")
			require.NoError(t, err)
		}
		return v
	}
	fill("a", 4)
	fill("b", 4)
	require.EqualValues(t, 8, vs.Entries())
	fill("c", 4) // 12 entries now; the next call evicts from the back
	require.EqualValues(t, 12, vs.Entries())
	_, err = vs.Get(ctx, "c")
	require.NoError(t, err)
	require.EqualValues(t, 8, vs.Entries(), "a evicted")
	la, err := vs.Lookup(ctx, "a")
	require.NoError(t, err)
	require.Nil(t, la)
	v := fill("d", 8) // per-vault bound: the oldest entry goes, 8 stay
	require.Equal(t, 8, v.Len())
	_, err = vs.Get(ctx, "d")
	require.NoError(t, err)
	require.LessOrEqual(t, vs.Entries(), int64(10))
	require.Equal(t, 1, vs.Len(), "only d is left")
}

// BenchmarkVaultsNewSessionFull is the cost of a new session once the set
// is full (memory mode): constant in the number of vaults held.
func BenchmarkVaultsNewSessionFull(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			vs, _ := redact.NewVaults(redact.VaultsOptions{MaxVaults: n, Key: []byte("k")})
			for i := range n {
				_, _ = vs.Get(ctx, fmt.Sprint("warm", i))
			}
			names := make([]string, 4096)
			for i := range names {
				names[i] = fmt.Sprint("new", i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _ = vs.Get(ctx, names[i%len(names)]+fmt.Sprint(i/len(names)))
				i++
			}
		})
	}
}

// BenchmarkVaultFullInsert is a new surrogate in a full vault (oldest
// entry evicted): constant in the vault size.
func BenchmarkVaultFullInsert(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			v := redact.NewVault(redact.VaultOptions{MaxEntries: n, Key: []byte("k")})
			for i := range n {
				_, _ = v.Surrogate(redact.Mask, "EMAIL_ADDRESS", fmt.Sprint("warm", i, "@x.example"), "")
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _ = v.Surrogate(redact.Mask, "EMAIL_ADDRESS", fmt.Sprint("new", i, "@x.example"), "")
				i++
			}
		})
	}
}
