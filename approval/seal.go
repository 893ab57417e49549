package approval

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// statePrefix marks requestState values minted by this package (so a
// gateway can tell its own state from an upstream server's).
const statePrefix = "pcap1."

// State is what a sealed requestState carries: enough for any replica to
// find the request and check that the retry is the same call.
type State struct {
	ID    string `json:"i"`
	Key   string `json:"k"` // Binding.Key()
	Nonce string `json:"n"`
	Exp   int64  `json:"e"` // unix seconds
}

// Sealer seals and opens requestState with HMAC-SHA256. The first key
// signs; every key verifies, so keys can be rotated without breaking
// requests in flight.
type Sealer struct {
	keys []sealKey
}

type sealKey struct {
	id  string
	key []byte
}

// NewSealer builds a sealer from (id, secret) pairs, first signs. Secrets
// must be at least 32 bytes.
func NewSealer(keys ...SealKey) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no requestState keys")
	}
	s := &Sealer{}
	for _, k := range keys {
		if len(k.Secret) < 32 {
			return nil, fmt.Errorf("requestState key %q: at least 32 bytes required, got %d", k.ID, len(k.Secret))
		}
		if k.ID == "" || strings.Contains(k.ID, ".") {
			return nil, fmt.Errorf("requestState key id %q: must be non-empty without dots", k.ID)
		}
		s.keys = append(s.keys, sealKey{k.ID, k.Secret})
	}
	return s, nil
}

// SealKey is one requestState key.
type SealKey struct {
	ID     string
	Secret []byte
}

// RandomSealer uses a fresh random key: valid only inside this process.
func RandomSealer() *Sealer {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	s, _ := NewSealer(SealKey{ID: "local", Secret: k})
	return s
}

// IsState reports whether v looks like a requestState minted here.
func IsState(v string) bool { return strings.HasPrefix(v, statePrefix) }

// Seal returns "pcap1.<kid>.<payload>.<mac>".
func (s *Sealer) Seal(st State) string {
	p, _ := json.Marshal(st)
	k := s.keys[0]
	body := statePrefix + k.id + "." + base64.RawURLEncoding.EncodeToString(p)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(k.key, body))
}

// Open verifies and decodes a sealed state; now bounds its lifetime.
func (s *Sealer) Open(v string, now time.Time) (State, error) {
	var st State
	if len(v) > 1024 || !IsState(v) {
		return st, errors.New("requestState was not issued by this gateway")
	}
	parts := strings.Split(v[len(statePrefix):], ".")
	if len(parts) != 3 {
		return st, errors.New("requestState is malformed")
	}
	// Decoding skips \r and \n; re-encoding refuses such non-canonical
	// forms, so each state has exactly one accepted spelling.
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || base64.RawURLEncoding.EncodeToString(sig) != parts[2] {
		return st, errors.New("requestState is malformed")
	}
	body := statePrefix + parts[0] + "." + parts[1]
	ok := false
	for _, k := range s.keys {
		if k.id == parts[0] {
			ok = hmac.Equal(sig, mac(k.key, body))
			break
		}
	}
	if !ok {
		return st, errors.New("requestState signature is invalid (forged, or sealed with a key this gateway no longer has)")
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || base64.RawURLEncoding.EncodeToString(p) != parts[1] || json.Unmarshal(p, &st) != nil || st.ID == "" || st.Key == "" {
		return State{}, errors.New("requestState is malformed")
	}
	if now.Unix() > st.Exp {
		return st, errors.New("requestState has expired")
	}
	return st, nil
}

func mac(key []byte, body string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(body))
	return m.Sum(nil)
}
