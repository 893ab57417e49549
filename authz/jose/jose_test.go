package jose

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
const rfc7638Key = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`

func TestParseJWKThumbprint(t *testing.T) {
	ks, thumb, err := ParseJWK([]byte(rfc7638Key))
	if err != nil {
		t.Fatal(err)
	}
	if thumb != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s", thumb)
	}
	if ks.KeyCount() != 1 {
		t.Fatalf("keys %d", ks.KeyCount())
	}
	bad := []string{
		`{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`,
		`{"kty":"oct","k":"c2VjcmV0"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + `","d":"AAAA"}`,
		`[]`,
	}
	for _, b := range bad {
		if _, _, err := ParseJWK([]byte(b)); err == nil {
			t.Errorf("accepted %s", b)
		}
	}
}

func TestVerifyJWSRejectsHeaderTricks(t *testing.T) {
	ks, _, err := ParseJWK([]byte(rfc7638Key))
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	tests := []struct {
		tok  string
		want error
	}{
		{enc(map[string]any{"alg": "none"}) + "." + enc(map[string]any{}) + ".", ErrAlgorithm},
		{enc(map[string]any{"alg": "HS256"}) + "." + enc(map[string]any{}) + ".AAAA", ErrAlgorithm},
		{enc(map[string]any{"alg": "RS256", "crit": []string{"b64"}}) + "." + enc(map[string]any{}) + ".AAAA", ErrMalformed},
		{enc(map[string]any{"alg": "RS256"}) + "." + enc(map[string]any{}) + ".AAAA", ErrSignature},
		{"a.b", ErrMalformed},
	}
	for _, tt := range tests {
		if _, _, err := VerifyJWS(tt.tok, ks, nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.tok, err, tt.want)
		}
	}
}

func TestClientIDAndActorChain(t *testing.T) {
	tests := []struct {
		name   string
		claims Claims
		client string
		actor  []string
	}{
		{"none", Claims{"sub": "alice"}, "", nil},
		{"client_id wins over azp", Claims{"client_id": "c1", "azp": "c2"}, "c1", nil},
		{"azp", Claims{"azp": "c2"}, "c2", nil},
		{"one actor", Claims{"act": map[string]any{"sub": "gw"}}, "", []string{"gw"}},
		{"nested chain, current first", Claims{"act": map[string]any{"sub": "gw", "act": map[string]any{"sub": "ci-bot"}}}, "", []string{"gw", "ci-bot"}},
		{"actor without sub skipped", Claims{"act": map[string]any{"iss": "x", "act": map[string]any{"sub": "b"}}}, "", []string{"b"}},
		{"not an object", Claims{"act": "gw"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClientID(tt.claims); got != tt.client {
				t.Errorf("ClientID = %q, want %q", got, tt.client)
			}
			if got := ActorChain(tt.claims); !slices.Equal(got, tt.actor) {
				t.Errorf("ActorChain = %q, want %q", got, tt.actor)
			}
		})
	}
	deep := Claims{}
	cur := deep
	for i := 0; i < 20; i++ {
		next := map[string]any{"sub": "a"}
		cur["act"] = next
		cur = next
	}
	if n := len(ActorChain(deep)); n != 8 {
		t.Errorf("a 20-deep chain reads %d actors, want the bound 8", n)
	}
}
