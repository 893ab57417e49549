// Package vaulttest is the contract every redact.Store must meet, run by
// the memory and Redis implementations' tests: atomic claims, sealed
// values at rest, replicas restoring each other's surrogates, bindings
// isolated, keys rotating, and errors that fail closed.
package vaulttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portcullis-mcp/portcullis/detectors/redact"
)

func key(b byte) []byte { return []byte(strings.Repeat(string([]byte{b}), 32)) }

// Sealer returns a sealer with active key id and the given ids (keys are
// derived from the id's first byte).
func Sealer(t testing.TB, active string, ids ...string) *redact.Sealer {
	keys := map[string][]byte{active: key(active[0])}
	for _, id := range ids {
		keys[id] = key(id[0])
	}
	s, err := redact.NewSealer(active, keys)
	require.NoError(t, err)
	return s
}

func replica(t testing.TB, st redact.Store, sealer *redact.Sealer) *redact.Vaults {
	vs, err := redact.NewVaults(redact.VaultsOptions{Store: st, Sealer: sealer, Key: []byte("shared-hmac-key-0123456789"), TTL: time.Hour, MaxEntries: 64})
	require.NoError(t, err)
	return vs
}

// Run checks the Store contract. newStore returns an empty store.
func Run(t *testing.T, newStore func(t *testing.T) redact.Store) {
	ctx := context.Background()
	t.Run("Claim", func(t *testing.T) {
		s := newStore(t)
		got, err := s.Load(ctx, "v", time.Minute)
		require.NoError(t, err)
		require.Empty(t, got)
		steps := []struct {
			lookup, sur, sealed string
			existing            string
			taken               bool
			err                 error
		}{
			{"l1", "[EMAIL_1]", "x1", "", false, nil},
			{"l1", "[EMAIL_2]", "x2", "[EMAIL_1]", false, nil}, // same original: first surrogate wins
			{"l2", "[EMAIL_1]", "x3", "", true, nil},           // surrogate taken by another original
			{"l2", "[EMAIL_2]", "x4", "", false, nil},
			{"l3", "[EMAIL_3]", "x5", "", false, redact.ErrVaultFull}, // max 2
		}
		for i, st := range steps {
			existing, taken, err := s.Claim(ctx, "v", st.lookup, st.sur, st.sealed, time.Minute, 2)
			if st.err != nil {
				require.ErrorIs(t, err, st.err, "step %d", i)
				continue
			}
			require.NoError(t, err, "step %d", i)
			require.Equal(t, st.existing, existing, "step %d", i)
			require.Equal(t, st.taken, taken, "step %d", i)
		}
		got, err = s.Load(ctx, "v", time.Minute)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"[EMAIL_1]": "x1", "[EMAIL_2]": "x4"}, got)
		other, err := s.Load(ctx, "w", time.Minute)
		require.NoError(t, err)
		require.Empty(t, other, "vaults are separate")
	})
	t.Run("ReplicasShare", func(t *testing.T) {
		rec := &recording{Store: newStore(t)}
		s := rec
		sealer := Sealer(t, "k1")
		a, b := replica(t, s, sealer), replica(t, s, sealer)
		for _, mode := range []redact.Mode{redact.Mask, redact.Hash, redact.Synthetic} {
			va, err := a.Get(ctx, "alice|files|sess-"+string(mode))
			require.NoError(t, err)
			text := "mail jane.doe@acme.com now"
			red, err := redact.Redact(text, []redact.Span{{Type: "EMAIL_ADDRESS", Start: 5, End: 22}}, mode, va)
			require.NoError(t, err)
			require.NotContains(t, red, "jane.doe")
			vb, err := b.Lookup(ctx, "alice|files|sess-"+string(mode))
			require.NoError(t, err)
			require.NotNil(t, vb, "replica B sees the vault replica A wrote")
			back, n, err := vb.RestoreJSON([]byte(`{"to":"` + red + `"}`))
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Equal(t, `{"to":"`+text+`"}`, string(back))
			// B minting the same original reuses A's surrogate.
			vb2, err := b.Get(ctx, "alice|files|sess-"+string(mode))
			require.NoError(t, err)
			red2, err := redact.Redact(text, []redact.Span{{Type: "EMAIL_ADDRESS", Start: 5, End: 22}}, mode, vb2)
			require.NoError(t, err)
			require.Equal(t, red, red2)
		}
		// Sealed at rest: the store never sees the clear value, the
		// principal or the session.
		require.NotEmpty(t, rec.claims)
		for _, c := range rec.claims {
			for _, clear := range []string{"jane.doe", "acme", "alice", "sess-"} {
				require.NotContains(t, c, clear)
			}
		}
	})
	t.Run("BindingsIsolated", func(t *testing.T) {
		s := newStore(t)
		vs := replica(t, s, Sealer(t, "k1"))
		v, err := vs.Get(ctx, "alice|files|s1")
		require.NoError(t, err)
		red, err := redact.Redact("card 4111 1111 1111 1111", []redact.Span{{Type: "CREDIT_CARD", Start: 5, End: 24}}, redact.Mask, v)
		require.NoError(t, err)
		for _, binding := range []string{"mallory|files|s1", "alice|other|s1", "alice|files|s2"} {
			w, err := vs.Lookup(ctx, binding)
			require.NoError(t, err)
			require.Nil(t, w, "%s must not see alice's vault", binding)
			w, err = vs.Get(ctx, binding)
			require.NoError(t, err)
			back, n, err := w.RestoreText(red)
			require.NoError(t, err)
			require.Zero(t, n)
			require.Equal(t, red, back)
		}
	})
	t.Run("ConcurrentMinting", func(t *testing.T) {
		s := newStore(t)
		sealer := Sealer(t, "k1")
		reps := []*redact.Vaults{replica(t, s, sealer), replica(t, s, sealer), replica(t, s, sealer)}
		var wg sync.WaitGroup
		reds := make([]string, 24)
		errs := make([]error, 24)
		for i := range reds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := reps[i%3].Get(ctx, "bob|r|s")
				if err != nil {
					errs[i] = err
					return
				}
				text := fmt.Sprintf("user%02d@corp.example", i%12) // each original twice
				reds[i], errs[i] = redact.Redact(text, []redact.Span{{Type: "EMAIL_ADDRESS", Start: 0, End: len(text)}}, redact.Mask, v)
			}()
		}
		wg.Wait()
		v, err := reps[0].Lookup(ctx, "bob|r|s")
		require.NoError(t, err)
		for i, red := range reds {
			require.NoError(t, errs[i])
			back, n, err := v.RestoreText(red)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Equal(t, fmt.Sprintf("user%02d@corp.example", i%12), back, "surrogate %s", red)
		}
		require.Equal(t, reds[0], reds[12], "one surrogate per original across replicas")
		require.Equal(t, 12, v.Len())
	})
	t.Run("KeyRotation", func(t *testing.T) {
		s := newStore(t)
		old := replica(t, s, Sealer(t, "k1"))
		v, err := old.Get(ctx, "b")
		require.NoError(t, err)
		red, err := redact.Redact("ssn 536-22-8727", []redact.Span{{Type: "US_SSN", Start: 4, End: 15}}, redact.Mask, v)
		require.NoError(t, err)
		rotated := replica(t, s, Sealer(t, "k2", "k1"))
		w, err := rotated.Get(ctx, "b")
		require.NoError(t, err)
		back, _, err := w.RestoreText(red)
		require.NoError(t, err)
		require.Equal(t, "ssn 536-22-8727", back)
		_, err = redact.Redact("ssn 536-22-8728", []redact.Span{{Type: "US_SSN", Start: 4, End: 15}}, redact.Mask, w)
		require.NoError(t, err)
		retired := replica(t, s, Sealer(t, "k2"))
		x, err := retired.Get(ctx, "b")
		require.NoError(t, err)
		_, _, err = x.RestoreText(red)
		require.ErrorIs(t, err, redact.ErrSealed, "an entry sealed with a dropped key fails closed")
		require.ErrorContains(t, err, `unknown key id "k1"`)
	})
	t.Run("VaultFullFailsClosed", func(t *testing.T) {
		s := newStore(t)
		vs, err := redact.NewVaults(redact.VaultsOptions{Store: s, Sealer: Sealer(t, "k1"), MaxEntries: 2})
		require.NoError(t, err)
		v, err := vs.Get(ctx, "full")
		require.NoError(t, err)
		for i := range 3 {
			text := fmt.Sprintf("a%d@x.example", i)
			_, err = redact.Redact(text, []redact.Span{{Type: "EMAIL_ADDRESS", Start: 0, End: len(text)}}, redact.Mask, v)
			if i < 2 {
				require.NoError(t, err)
			}
		}
		require.ErrorIs(t, err, redact.ErrVaultFull)
	})
}

type recording struct {
	redact.Store
	mu     sync.Mutex
	claims []string
}

func (r *recording) Claim(ctx context.Context, vault, lookup, surrogate, sealed string, ttl time.Duration, max int) (string, bool, error) {
	r.mu.Lock()
	r.claims = append(r.claims, vault+" "+lookup+" "+sealed)
	r.mu.Unlock()
	return r.Store.Claim(ctx, vault, lookup, surrogate, sealed, ttl, max)
}

// Failing is a Store that always errors (Redis down).
type Failing struct{}

var errDown = errors.New("connection refused")

// Load implements redact.Store.
func (Failing) Load(context.Context, string, time.Duration) (map[string]string, error) {
	return nil, errDown
}

// Claim implements redact.Store.
func (Failing) Claim(context.Context, string, string, string, string, time.Duration, int) (string, bool, error) {
	return "", false, errDown
}
