package redact

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzSharedVault: Redact through one replica's shared vault, restore
// through another's (same store and keys): the text comes back exactly and
// the store never holds the original. Seeded from the samples table.
func FuzzSharedVault(f *testing.F) {
	for i, s := range samples {
		f.Add("see "+s.val+" and [EMAIL_1]", 4, 4+len(s.val), uint8(i))
	}
	modes := []Mode{Mask, Hash, Synthetic}
	types := []string{"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "PERSON", "SECRET"}
	key := []byte(strings.Repeat("k", 32))
	f.Fuzz(func(t *testing.T, x string, a, b int, m uint8) {
		if a < 0 || b > len(x) || a >= b {
			return
		}
		sealer, err := NewSealer("k1", map[string][]byte{"k1": key})
		if err != nil {
			t.Fatal(err)
		}
		st := NewMemoryStore(nil)
		ra, _ := NewVaults(VaultsOptions{Store: st, Sealer: sealer, Key: []byte("h")})
		rb, _ := NewVaults(VaultsOptions{Store: st, Sealer: sealer, Key: []byte("h")})
		ctx := context.Background()
		va, _ := ra.Get(ctx, "p|r|s")
		red, err := Redact(x, []Span{{types[int(m)%len(types)], a, b}}, modes[int(m)%3], va)
		if err != nil {
			return
		}
		vb, _ := rb.Get(ctx, "p|r|s")
		back, _, err := vb.RestoreText(red)
		if err != nil {
			t.Fatal(err)
		}
		if back != x {
			t.Fatalf("round trip across replicas: x=%q red=%q back=%q", x, red, back)
		}
		orig := x[a:b]
		for _, v := range st.m {
			for sur, sealed := range v.sealed {
				if len(orig) >= 4 && strings.Contains(sealed, orig) {
					t.Fatalf("original %q in sealed value for %q", orig, sur)
				}
			}
		}
	})
}

// FuzzSealerOpen: arbitrary input never panics and opens only to the one
// plaintext ever sealed under the key; a sealed value with any bit of its
// ciphertext changed never opens.
func FuzzSealerOpen(f *testing.F) {
	const plain = "mask|EMAIL_ADDRESS|a@b.example"
	s, _ := NewSealer("k1", map[string][]byte{"k1": []byte(strings.Repeat("s", 32))})
	good, _ := s.Seal("v\x00[EMAIL_1]", plain)
	f.Add(good, 0)
	f.Add("k1:", 3)
	f.Add("nokey", 1)
	f.Add("k2:AAAA", 40)
	f.Fuzz(func(t *testing.T, sealed string, flip int) {
		if got, err := s.Open("v\x00[EMAIL_1]", sealed); err == nil && got != plain {
			t.Fatalf("forged value opened to %q", got)
		}
		good, err := s.Seal("v\x00[EMAIL_1]", plain)
		if err != nil {
			t.Fatal(err)
		}
		_, b64, _ := strings.Cut(good, ":")
		ct, _ := base64.RawStdEncoding.DecodeString(b64)
		if flip < 0 || len(ct) == 0 {
			return
		}
		ct[flip%len(ct)] ^= 1 << (flip % 8)
		if _, err := s.Open("v\x00[EMAIL_1]", "k1:"+base64.RawStdEncoding.EncodeToString(ct)); err == nil {
			t.Fatalf("tampered value opened (byte %d)", flip%len(ct))
		}
		if _, err := s.Open("v\x00[EMAIL_2]", good); err == nil {
			t.Fatal("value opened under another surrogate")
		}
	})
}
