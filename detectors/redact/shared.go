package redact

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Store keeps vaults outside the process so that every replica restores
// the surrogates any replica minted. Originals reach it sealed (AES-GCM,
// see Sealer) and vault names are keyed digests of the binding, so the
// store never sees a clear value, principal or session id.
type Store interface {
	// Load returns the vault's entries (surrogate → sealed original) and
	// refreshes the vault's TTL. A missing vault is empty.
	Load(ctx context.Context, vault string, ttl time.Duration) (map[string]string, error)
	// Claim atomically records surrogate → sealed under lookup (a keyed
	// digest of mode, type and original) unless lookup already has a
	// surrogate (returned as existing, nothing written) or surrogate
	// belongs to another lookup (taken). A vault holding max entries
	// refuses new ones with ErrVaultFull. It refreshes the vault's TTL.
	Claim(ctx context.Context, vault, lookup, surrogate, sealed string, ttl time.Duration, max int) (existing string, taken bool, err error)
}

// Errors of shared vaults. Callers refuse the message (fail closed): a
// call that needs the vault is never forwarded with surrogates or clear
// values when the vault cannot be reached.
var (
	ErrUnavailable = errors.New("redact: vault store unavailable")
	ErrVaultFull   = errors.New("redact: vault full")
	ErrSealed      = errors.New("redact: vault entry cannot be opened")
)

// Sealer encrypts vault entries with AES-256-GCM. Each sealed value names
// its key id, so keys rotate: new entries use the active key, older keys
// only open entries written before the rotation (keep them until the vault
// TTL has passed).
type Sealer struct {
	active string
	aeads  map[string]cipher.AEAD
}

// NewSealer returns a Sealer; keys maps key id → 32-byte key and must hold
// active. Key ids are short names without ':'.
func NewSealer(active string, keys map[string][]byte) (*Sealer, error) {
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("redact: sealer: active key id %q has no key", active)
	}
	s := &Sealer{active: active, aeads: map[string]cipher.AEAD{}}
	for id, k := range keys {
		if id == "" || strings.ContainsAny(id, ": ") {
			return nil, fmt.Errorf("redact: sealer: bad key id %q (non-empty, no ':' or spaces)", id)
		}
		if len(k) != 32 {
			return nil, fmt.Errorf("redact: sealer: key %q is %d bytes, want 32", id, len(k))
		}
		b, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("redact: sealer: key %q: %w", id, err)
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			return nil, fmt.Errorf("redact: sealer: key %q: %w", id, err)
		}
		s.aeads[id] = g
	}
	return s, nil
}

// Seal encrypts plain, binding it to aad (vault name and surrogate, so an
// entry moved to another vault or surrogate does not open).
func (s *Sealer) Seal(aad, plain string) (string, error) {
	g := s.aeads[s.active]
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("redact: seal: %w", err)
	}
	ct := g.Seal(nonce, nonce, []byte(plain), []byte(aad))
	return s.active + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts a sealed value.
func (s *Sealer) Open(aad, sealed string) (string, error) {
	id, b64, ok := strings.Cut(sealed, ":")
	if !ok {
		return "", fmt.Errorf("%w: no key id", ErrSealed)
	}
	g, ok := s.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: sealed with unknown key id %q (keep retired keys until the vault TTL has passed)", ErrSealed, id)
	}
	ct, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(ct) < g.NonceSize() {
		return "", fmt.Errorf("%w: malformed", ErrSealed)
	}
	p, err := g.Open(nil, ct[:g.NonceSize()], ct[g.NonceSize():], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("%w: key %q: authentication failed", ErrSealed, id)
	}
	return string(p), nil
}

// sharedVault is the store side of one Vault handle.
type sharedVault struct {
	ctx    context.Context // the call's context: a handle lives for one call
	store  Store
	sealer *Sealer
	name   string
	key    []byte
	ttl    time.Duration
	max    int
	loaded bool
}

func (v *Vault) loadLocked() error {
	sh := v.shared
	if sh == nil || sh.loaded {
		return nil
	}
	recs, err := sh.store.Load(sh.ctx, sh.name, sh.ttl)
	if err != nil {
		return fmt.Errorf("%w: load: %w", ErrUnavailable, err)
	}
	now := v.opts.Now()
	for sur, sealed := range recs {
		if len(sur) < anchorLen4 {
			continue
		}
		key, err := sh.sealer.Open(sh.name+"\x00"+sur, sealed)
		if err != nil {
			return err
		}
		mode, rest, _ := strings.Cut(key, "|")
		typ, original, ok := strings.Cut(rest, "|")
		if !ok || original == "" {
			return fmt.Errorf("%w: bad record", ErrSealed)
		}
		_ = mode
		v.counters[typ]++
		v.insert(&entry{surrogate: sur, original: original, key: key, expires: now.Add(v.opts.TTL)})
	}
	sh.loaded = true
	return nil
}

// claim records s for key in the store and returns the surrogate to use
// (s, or the one another replica recorded first).
func (sh *sharedVault) claim(key, s string) (string, bool, error) {
	m := hmac.New(sha256.New, sh.key)
	m.Write([]byte(sh.name))
	m.Write([]byte{0})
	m.Write([]byte(key))
	lookup := hex.EncodeToString(m.Sum(nil)[:16])
	sealed, err := sh.sealer.Seal(sh.name+"\x00"+s, key)
	if err != nil {
		return "", false, err
	}
	existing, taken, err := sh.store.Claim(sh.ctx, sh.name, lookup, s, sealed, sh.ttl, sh.max)
	switch {
	case errors.Is(err, ErrVaultFull):
		return "", false, err
	case err != nil:
		return "", false, fmt.Errorf("%w: claim: %w", ErrUnavailable, err)
	case taken:
		return "", true, nil
	case existing != "":
		return existing, false, nil
	}
	return s, false, nil
}
