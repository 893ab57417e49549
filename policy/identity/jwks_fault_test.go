package identity

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultJWKSHangs: the JWKS endpoint hangs when a token with a new key
// id arrives. The request is refused (ErrNoKey) without waiting for the
// endpoint; tokens with cached keys keep working meanwhile; when the
// endpoint answers, the background fetch installs the keys and the new key
// id is accepted without another fetch.
func TestFaultJWKSHangs(t *testing.T) {
	k := getKeys(t)
	// The endpoint first publishes every key but ec1 (published later).
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(k.jwks, &doc); err != nil {
		t.Fatal(err)
	}
	var early struct {
		Keys []map[string]any `json:"keys"`
	}
	for _, key := range doc.Keys {
		if key["kid"] != "ec1" {
			early.Keys = append(early.Keys, key)
		}
	}
	earlyJWKS, _ := json.Marshal(early)
	var served atomic.Pointer[[]byte]
	served.Store(&earlyJWKS)
	var hits atomic.Int64
	var hang atomic.Bool
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if hang.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write(*served.Load())
	}))
	defer srv.Close()
	defer close(release)
	r, err := New(context.Background(), Config{JWT: &JWTConfig{Issuer: "https://idp.example", Audience: []string{"portcullis"},
		JWKSURL: srv.URL, HTTPClient: srv.Client(), RefreshInterval: time.Nanosecond}})
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	r.keyWait = 10 * time.Millisecond // the endpoint is held until released, whatever the bound
	served.Store(&k.jwks)             // ec1 is published; the endpoint then hangs
	bearer := func(alg, kid string) map[string]string {
		return map[string]string{"authorization": "Bearer " + sign(t, alg, kid, claims(nil))}
	}

	hang.Store(true)
	if _, err := r.Resolve(bearer("ES256", "ec1"), nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("unknown kid while the JWKS endpoint hangs: want ErrNoKey, got %v", err)
	}
	// The refetch it started reaches the endpoint (it may arrive after the
	// request gave up); wait for it, bounded only against a broken resolver.
	deadline := time.Now().Add(30 * time.Second)
	for hits.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no refetch for an unknown kid")
		}
		time.Sleep(time.Millisecond)
	}
	// The refetch is still held: cached keys keep working.
	if id, err := r.Resolve(bearer("EdDSA", "ed1"), nil); err != nil || id.ID != "agent-7" {
		t.Fatalf("cached key while the JWKS endpoint hangs: %+v %v", id, err)
	}
	// A second unknown-kid request joins the running fetch (single flight).
	if _, err := r.Resolve(bearer("ES256", "ec1"), nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("second unknown kid: want ErrNoKey, got %v", err)
	}
	if hits.Load() != 2 {
		t.Fatalf("JWKS fetched %d times, want one refetch in flight", hits.Load())
	}
	hang.Store(false)
	release <- struct{}{} // the endpoint answers the held fetch
	for {
		r.mu.RLock()
		done := r.inflight == nil
		r.mu.RUnlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background fetch never ended")
		}
		time.Sleep(time.Millisecond)
	}
	if id, err := r.Resolve(bearer("ES256", "ec1"), nil); err != nil || id.ID != "agent-7" {
		t.Fatalf("key installed by the background fetch: %+v %v", id, err)
	}
	if hits.Load() != 2 {
		t.Fatalf("JWKS fetched %d times, want no fetch for a now known key", hits.Load())
	}
}
