package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/authz"
	"github.com/portcullis-mcp/portcullis/authz/authztest"
	"github.com/portcullis-mcp/portcullis/authz/redisstore"
	"github.com/portcullis-mcp/portcullis/internal/redisopt/redistest"
)

// The Redis store and the memory store behave alike.
func TestStoresBehaveAlike(t *testing.T) {
	srv := redistest.Start(t, nil)
	c := srv.Client()
	stores := []struct {
		name string
		s    authz.TokenStore
	}{{"memory", authz.NewMemoryStore(10)}, {"redis", redisstore.New(c, "t:")}}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			s := st.s
			if _, ok, err := s.Get(ctx, "a"); ok || err != nil {
				t.Fatalf("empty get: %v %v", ok, err)
			}
			if err := s.Set(ctx, "a", []byte("v1"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := s.Get(ctx, "a"); !ok || err != nil || string(v) != "v1" {
				t.Fatalf("get: %q %v %v", v, ok, err)
			}
			if err := s.Set(ctx, "a", []byte("v2"), time.Minute); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := s.Take(ctx, "a"); !ok || err != nil || string(v) != "v2" {
				t.Fatalf("take: %q %v %v", v, ok, err)
			}
			if _, ok, err := s.Take(ctx, "a"); ok || err != nil {
				t.Fatalf("second take: %v %v", ok, err)
			}
			_ = s.Set(ctx, "b", []byte("x"), time.Minute)
			if err := s.Delete(ctx, "b"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.Get(ctx, "b"); ok {
				t.Fatal("deleted key still there")
			}
		})
	}
	// Entries expire: the TTL is on the Redis key, under the prefix.
	rs := redisstore.New(c, "t:")
	if err := rs.Set(context.Background(), "ttl", []byte("x"), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(context.Background(), "t:ttl").Val(); ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Fatalf("PTTL %v", ttl)
	}
	// Redis down: errors, never "absent".
	srv.Stop()
	if _, _, err := rs.Get(context.Background(), "a"); err == nil {
		t.Fatal("Get with Redis down returned no error")
	}
}

// Two replicas share grants through Redis: a consent started on replica A
// is completed through replica B's callback, and A then presents the
// user's token. Another principal still needs its own consent.
func TestDelegationAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t, nil)
	c := srv.Client()
	as := authztest.New(t, authztest.Options{User: func(r *http.Request) string { return "alice@upstream" }})
	t.Setenv("UP_SECRET", "s3")
	var h http.Handler = http.NotFoundHandler()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer gw.Close()
	cfg := authz.UpstreamConfig{Kind: authz.UpstreamDelegated, AuthorizationURL: as.AuthorizeURL(), TokenURL: as.TokenURL(), ClientID: "gw", ClientSecretEnv: "UP_SECRET"}
	key := bytes.Repeat([]byte{3}, 32)
	replica := func() *authz.Delegation {
		d, err := authz.NewDelegation(authz.DelegationOptions{BaseURL: gw.URL, Key: key, Store: redisstore.New(c, "portcullis:deleg:"),
			Lookup: func(string) (authz.UpstreamConfig, bool) { return cfg, true }})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := replica(), replica()
	h = b.Handler()
	as.AddClient(authztest.Client{ID: "gw", Secret: "s3", RedirectURIs: []string{a.RedirectURL()}})
	ctx := context.Background()
	_, err := a.Token(ctx, "up", cfg, "alice")
	var ce *authz.ConsentRequiredError
	if !errors.As(err, &ce) {
		t.Fatalf("want consent, got %v", err)
	}
	jar, _ := cookiejar.New(nil)
	ua := &http.Client{Jar: jar}
	resp, err := ua.PostForm(gw.URL+authz.ConsentPath, url.Values{"id": {ce.ID}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Access granted") {
		t.Fatalf("consent via replica B: %d %s", resp.StatusCode, page)
	}
	tok, err := a.Token(ctx, "up", cfg, "alice")
	if err != nil || tok == "" {
		t.Fatalf("replica A after consent on B: %v", err)
	}
	if _, err := b.Token(ctx, "up", cfg, "bob"); !errors.As(err, new(*authz.ConsentRequiredError)) {
		t.Fatalf("bob: %v", err)
	}
	// Nothing in Redis is readable.
	keys := c.Keys(ctx, "portcullis:deleg:*").Val()
	if len(keys) < 2 {
		t.Fatalf("keys %v", keys)
	}
	name := regexp.MustCompile(`^portcullis:deleg:(grant|consent|pending):[A-Za-z0-9_-]{32,43}$`)
	for _, k := range keys {
		if !name.MatchString(k) {
			t.Fatalf("Redis key %q is not a keyed digest", k)
		}
		v := c.Get(ctx, k).Val()
		for _, clear := range []string{tok, "alice", `"a":`, `"p":`} {
			if strings.Contains(v, clear) {
				t.Fatalf("Redis entry %s holds %q in clear", k, clear)
			}
		}
	}
	// Redis down: a clear error, not a consent loop.
	srv.Stop()
	if _, err := a.Token(ctx, "up", cfg, "alice"); err == nil || errors.As(err, new(*authz.ConsentRequiredError)) || !strings.Contains(err.Error(), "token store") {
		t.Fatalf("Redis down: %v", err)
	}
	// The consent page says so without naming Redis's address.
	resp, err = http.Get(gw.URL + authz.ConsentPath + "?id=" + ce.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.Contains(string(page), srv.Addr) {
		t.Fatalf("consent page with Redis down: %d %s", resp.StatusCode, page)
	}
}
