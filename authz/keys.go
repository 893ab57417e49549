package authz

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/portcullis-mcp/portcullis/authz/jose"
)

// keyCache holds the JWKS. A URL is refetched every RefreshInterval in the
// background; a failed fetch keeps the last good keys (the endpoint being
// down must not lock every caller out). A token with an unknown key id
// triggers at most one refresh per minRefetch and waits for it at most
// UnknownKeyWait, so a key rotation is picked up without a synchronous
// fetch on every such request.
type keyCache struct {
	url, file string
	cfg       Config

	mu       sync.RWMutex
	ks       *jose.KeySet
	lastTry  time.Time
	inflight chan struct{} // closed when the running refresh ends
	lastErr  error
}

const minRefetch = 30 * time.Second

func newKeyCache(ctx context.Context, cfg Config) (*keyCache, error) {
	kc := &keyCache{url: cfg.JWKSURL, file: cfg.JWKSFile, cfg: cfg}
	if kc.file != "" {
		ks, err := jose.LoadJWKSFile(kc.file)
		if err != nil {
			return nil, fmt.Errorf("jwks_file: %w", err)
		}
		kc.ks = ks
		return kc, nil
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ks, err := jose.FetchJWKS(fctx, cfg.HTTPClient, kc.url)
	if err != nil {
		return nil, fmt.Errorf("jwks_url: %w", err)
	}
	kc.ks, kc.lastTry = ks, cfg.Now()
	go kc.loop(ctx)
	return kc, nil
}

func (kc *keyCache) loop(ctx context.Context) {
	t := time.NewTicker(kc.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			<-kc.refresh(ctx)
		}
	}
}

func (kc *keyCache) get() *jose.KeySet {
	kc.mu.RLock()
	defer kc.mu.RUnlock()
	return kc.ks
}

// refresh starts a fetch unless one is running and returns a channel closed
// when the running fetch ends.
func (kc *keyCache) refresh(ctx context.Context) <-chan struct{} {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if kc.inflight != nil {
		return kc.inflight
	}
	done := make(chan struct{})
	kc.inflight = done
	kc.lastTry = kc.cfg.Now()
	go func() {
		defer close(done)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		ks, err := jose.FetchJWKS(fctx, kc.cfg.HTTPClient, kc.url)
		kc.mu.Lock()
		defer kc.mu.Unlock()
		kc.inflight = nil
		kc.lastErr = err
		if err == nil {
			kc.ks = ks
		}
	}()
	return done
}

// refreshForUnknownKey refreshes (rate-limited) and waits a bounded time.
// It reports the key set to retry with, or false when no refresh happened.
func (kc *keyCache) refreshForUnknownKey(ctx context.Context) (*jose.KeySet, bool) {
	if kc.url == "" {
		return nil, false
	}
	kc.mu.RLock()
	recent := kc.inflight == nil && kc.cfg.Now().Sub(kc.lastTry) < minRefetch
	kc.mu.RUnlock()
	if recent {
		return nil, false
	}
	done := kc.refresh(ctx)
	t := time.NewTimer(kc.cfg.UnknownKeyWait)
	defer t.Stop()
	select {
	case <-done:
		return kc.get(), true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

// Healthy reports the last JWKS fetch error (nil when fine or file-based).
func (kc *keyCache) Healthy() error {
	kc.mu.RLock()
	defer kc.mu.RUnlock()
	return kc.lastErr
}
