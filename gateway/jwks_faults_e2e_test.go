package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// signer is one ES256 key of the test's authorization server.
type signer struct {
	kid string
	key *ecdsa.PrivateKey
}

func newSigner(t *testing.T, kid string) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid, k}
}

func (s signer) jwk() map[string]string {
	pub, _ := s.key.PublicKey.Bytes()
	b := base64.RawURLEncoding.EncodeToString
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": s.kid, "use": "sig", "alg": "ES256", "x": b(pub[1:33]), "y": b(pub[33:])}
}

var jtiSeq atomic.Int64

// mint signs a fresh access token (its own jti, so no verification cache
// applies) for aud.
func (s signer) mint(t *testing.T, iss, aud string) string {
	t.Helper()
	b := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": s.kid, "typ": "at+jwt"})
	now := time.Now()
	p, _ := json.Marshal(map[string]any{"iss": iss, "sub": "agent-1", "aud": aud, "scope": "mcp", "client_id": "c1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": fmt.Sprint("jti-", jtiSeq.Add(1))})
	in := b(h) + "." + b(p)
	d := sha256.Sum256([]byte(in))
	r, ss, err := ecdsa.Sign(rand.Reader, s.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return in + "." + b(sig)
}

// jwksEndpoint serves a key set that the test rotates, or fails (down:
// 503; hanging: held until the fetcher gives up).
type jwksEndpoint struct {
	mu       sync.Mutex
	keys     []signer
	mode     string        // up, down, hang
	release  chan struct{} // closed by the next set: held fetches go on
	fetches  atomic.Int64
	failures atomic.Int64
}

func (j *jwksEndpoint) set(mode string, keys ...signer) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.release != nil {
		close(j.release)
	}
	j.mode, j.keys, j.release = mode, keys, make(chan struct{})
}

func (j *jwksEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.fetches.Add(1)
	j.mu.Lock()
	mode, keys, release := j.mode, j.keys, j.release
	j.mu.Unlock()
	switch mode {
	case "down":
		j.failures.Add(1)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	case "hang":
		j.failures.Add(1)
		select {
		case <-r.Context().Done():
			return
		case <-release: // the endpoint recovered: answer with what it serves now
			j.mu.Lock()
			keys = j.keys
			j.mu.Unlock()
		}
	}
	set := make([]map[string]string, 0, len(keys))
	for _, k := range keys {
		set = append(set, k.jwk())
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": set})
}

// TestFaultJWKSDown: identity.oauth validates tokens against a JWKS whose
// endpoint goes down, then hangs, then returns with a rotated key set.
// Cached keys keep working throughout; a token signed with a key the
// gateway has never seen is refused with a 401 invalid_token challenge and
// never reaches the upstream; once the endpoint serves the new key, the
// background refresh installs it and the same kind of token is accepted.
func TestFaultJWKSDown(t *testing.T) {
	k1, k2 := newSigner(t, "k1"), newSigner(t, "k2")
	jw := &jwksEndpoint{}
	jw.set("up", k1)
	as := httptest.NewServer(jw)
	t.Cleanup(as.Close)
	up := &faultUpstream{}
	tools := newUpstream(t, up)
	addr := freeAddr(t)
	base := "http://" + addr
	aud := base + "/mcp/tools"
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: %s, extproc: 127.0.0.1:0}
servers:
  - {name: tools, url: %s/mcp, tools: {allow: ["*"]}}
identity:
  oauth: {resource: %s, authorization_servers: [%s], jwks_url: %s/jwks, scopes: [mcp], jwks_refresh: 20ms}
`, addr, tools.srv.URL, base, as.URL, as.URL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })

	call := func(tok string, n int) (int, string, string) {
		t.Helper()
		return authPost(t, aud, tok, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"n":%d}}}`, n, n))
	}
	ok := func(what, tok string, n int) {
		t.Helper()
		if st, ch, body := call(tok, n); st != 200 || !strings.Contains(body, "echo") {
			t.Fatalf("%s: %d %q %s", what, st, ch, body)
		}
	}
	refused := func(what, tok string, n int) {
		t.Helper()
		before := len(up.received())
		st, ch, body := call(tok, n)
		if st != 401 || !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, "no matching key") ||
			!strings.Contains(ch, `resource_metadata="`+base+`/.well-known/oauth-protected-resource/mcp/tools"`) {
			t.Fatalf("%s: want 401 invalid_token naming the missing key, got %d %q %s", what, st, ch, body)
		}
		if len(up.received()) != before {
			t.Fatalf("%s: the upstream received a call with an unverifiable token", what)
		}
	}

	ok("token signed with the published key", k1.mint(t, as.URL, aud), 1)

	for i, mode := range []string{"down", "hang"} {
		jw.set(mode, k1)
		f := jw.failures.Load()
		// The background refresh ran against the failing endpoint at least
		// once (waits on the refresh, never on a duration).
		eventually(t, "a refresh against the "+mode+" endpoint", func() bool { return jw.failures.Load() > f })
		ok("fresh token with a cached key while the JWKS endpoint is "+mode, k1.mint(t, as.URL, aud), 10+i)
		refused("token with an unknown key while the JWKS endpoint is "+mode, k2.mint(t, as.URL, aud), 20+i)
	}

	// The endpoint is back and publishes the rotated key: the periodic
	// background refresh installs it. Until then such tokens are refused,
	// never let through.
	jw.set("up", k1, k2)
	n := 100
	eventually(t, "the rotated key installed by the background refresh", func() bool {
		n++
		st, _, body := call(k2.mint(t, as.URL, aud), n)
		if st == 200 && strings.Contains(body, "echo") {
			return true
		}
		if st != 401 {
			t.Fatalf("token with a not yet installed key: %d %s", st, body)
		}
		return false
	})
	ok("token with the old key after the rotation", k1.mint(t, as.URL, aud), 1000)
}
