package authz

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-mcp/portcullis/authz/jose"
)

var (
	errIssuer   = jose.ErrIssuer
	errAudience = jose.ErrAudience
)

// checkProof validates a DPoP proof (RFC 9449 §4.3) for the request and
// the access token bound to jkt.
func (rs *ResourceServer) checkProof(r Request, tok, jkt string) error {
	if r.DPoPCount > 1 {
		return errors.New("more than one DPoP header")
	}
	if r.DPoP == "" {
		return errors.New("the DPoP header with a proof is required")
	}
	hdr, err := jose.ParseJWSHeader(r.DPoP)
	if err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	if hdr.Typ != "dpop+jwt" {
		return fmt.Errorf("proof typ is %q, want dpop+jwt", hdr.Typ)
	}
	if len(hdr.JWK) == 0 {
		return errors.New("proof has no jwk header")
	}
	ks, thumb, err := jose.ParseJWK(hdr.JWK)
	if err != nil {
		return fmt.Errorf("proof jwk: %w", err)
	}
	// The embedded key verifies the proof (ParseJWK's set ignores kid).
	_, payload, err := jose.VerifyJWS(r.DPoP, ks, rs.algs)
	if err != nil {
		return fmt.Errorf("proof signature: %w", err)
	}
	var c struct {
		HTM string   `json:"htm"`
		HTU string   `json:"htu"`
		IAT *float64 `json:"iat"`
		JTI string   `json:"jti"`
		ATH string   `json:"ath"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("proof claims: %w", err)
	}
	if c.HTM != r.Method {
		return fmt.Errorf("proof htm %q does not match the request method", c.HTM)
	}
	want := rs.cfg.Resource + pathOnly(r.Path)
	if normHTU(c.HTU) != want {
		return fmt.Errorf("proof htu does not match %s", want)
	}
	if c.IAT == nil {
		return errors.New("proof has no iat")
	}
	now := rs.cfg.Now()
	iat := time.Unix(int64(*c.IAT), 0)
	if iat.After(now.Add(rs.cfg.Leeway)) || iat.Before(now.Add(-rs.cfg.Leeway-time.Minute)) {
		return errors.New("proof iat is outside the accepted window")
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return errors.New("proof jti is missing or too long")
	}
	sum := sha256.Sum256([]byte(tok))
	if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
		return errors.New("proof ath does not match the access token")
	}
	if thumb != jkt {
		return errors.New("proof key does not match the token's cnf.jkt")
	}
	if !rs.jti.add(thumb+"\x00"+c.JTI, iat.Add(rs.cfg.Leeway+2*time.Minute), now) {
		return errors.New("proof jti was already used (replay)")
	}
	return nil
}

func pathOnly(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// normHTU drops query and fragment (RFC 9449 §4.3 check 9).
func normHTU(u string) string { return pathOnlyURL(u) }

func pathOnlyURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// replayCache remembers DPoP proof ids until they expire, bounded.
type replayCache struct {
	mu  sync.Mutex
	m   map[string]time.Time
	max int
}

func newReplayCache(max int) *replayCache {
	return &replayCache{m: make(map[string]time.Time), max: max}
}

// add records id until exp and reports false if it was already present.
func (c *replayCache) add(id string, exp, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[id]; ok && now.Before(t) {
		return false
	}
	if len(c.m) >= c.max {
		for k, t := range c.m {
			if now.After(t) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			// Full of live ids: refusing is safer than forgetting one.
			return false
		}
	}
	c.m[id] = exp
	return true
}
