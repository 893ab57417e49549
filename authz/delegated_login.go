package authz

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// ConsentLogin binds a consent to the person at the browser: before the
// upstream's authorization starts, they sign in at the gateway's own
// authorization server (the one that issues the callers' tokens), and
// only the principal the consent was created for may continue. Without
// it, whoever opens a consent link grants their upstream account to the
// principal that asked (docs/authorization.md).
type ConsentLogin struct {
	// Issuer is the gateway's authorization server; its authorization and
	// token endpoints are read from its RFC 8414 (or OpenID) metadata.
	Issuer string
	// The gateway's client at Issuer, with LoginPath as redirect URI.
	ClientID, ClientSecretFile, ClientSecretEnv, AuthMethod string
	// Resource is the audience asked for (RFC 8707): the gateway's own URL.
	Resource string
	// Verify validates a token issued by Issuer for Resource and returns
	// the principal it names (the same identity callers get).
	Verify func(ctx context.Context, token string) (string, error)
}

// LoginPath is where the gateway's authorization server returns the
// browser after the sign-in of a consent (register it as the login
// client's redirect URI).
const LoginPath = "/oauth/upstream/login"

// loginCookie records, for the upstream callback, that this browser signed
// in as the consent's principal.
const loginCookie = "portcullis_consent_login"

// loginEndpoints caches the login issuer's endpoints.
type loginEndpoints struct {
	mu               sync.Mutex
	authorize, token string
	at               time.Time
}

func (d *Delegation) loginEndpoints(ctx context.Context) (string, string, error) {
	e := &d.login
	now := d.o.Now()
	e.mu.Lock()
	if e.token != "" && now.Sub(e.at) < prmTTL {
		a, t := e.authorize, e.token
		e.mu.Unlock()
		return a, t, nil
	}
	e.mu.Unlock()
	m, err := authServerMetadata(ctx, d.client, d.o.Login.Issuer)
	if err != nil {
		return "", "", err
	}
	a, _ := m["authorization_endpoint"].(string)
	t, _ := m["token_endpoint"].(string)
	if a == "" || t == "" {
		return "", "", fmt.Errorf("authorization server %s names no authorization or token endpoint", d.o.Login.Issuer)
	}
	e.mu.Lock()
	e.authorize, e.token, e.at = a, t, now
	e.mu.Unlock()
	return a, t, nil
}

// loginSecret derives per-consent values only this gateway can compute:
// the sign-in's PKCE verifier and the proof that it succeeded.
func (d *Delegation) loginSecret(kind, id string) string {
	m := hmac.New(sha256.New, d.nameKey)
	m.Write([]byte("login\x00" + kind + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// loginURL is the sign-in request for consent id at the gateway's own
// authorization server.
func (d *Delegation) loginURL(ctx context.Context, id string) (string, error) {
	authorize, _, err := d.loginEndpoints(ctx)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(authorize)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", d.o.Login.ClientID)
	q.Set("redirect_uri", d.o.BaseURL+LoginPath)
	q.Set("state", id)
	q.Set("code_challenge", pkceChallenge(d.loginSecret("verifier", id)))
	q.Set("code_challenge_method", "S256")
	if d.o.Login.Resource != "" {
		q.Set("resource", d.o.Login.Resource)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

var errWrongPerson = errors.New("signed in as another principal")

// loginCallback completes the sign-in of a consent: same browser, the code
// exchanged, the token verified, and its principal the consent's. Then the
// browser goes on to the upstream's authorization server. A sign-in as
// anyone else consumes the consent: nothing is granted.
func (d *Delegation) loginCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("state")
	if c, err := r.Cookie(consentCookie); err != nil || c.Value != d.browserBinding(id) {
		page(w, http.StatusBadRequest, "Consent not confirmed in this browser", "open the consent link from your agent again in this browser")
		return
	}
	p, err := d.loadConsent(r.Context(), id, false)
	if err != nil {
		consentError(w, http.StatusBadRequest, err)
		return
	}
	if e := q.Get("error"); e != "" || q.Get("code") == "" {
		page(w, http.StatusOK, "Not signed in", "the gateway's sign-in answered "+quote(e)+". Retry the call from your agent to start again.")
		return
	}
	who, err := d.signedIn(r.Context(), q.Get("code"), id)
	if err != nil {
		page(w, http.StatusBadGateway, "Sign-in failed", err.Error())
		return
	}
	if who != p.Principal {
		_, _, _ = d.o.Store.Take(r.Context(), "consent:"+id)
		page(w, http.StatusForbidden, "Consent refused", "this consent was requested by \""+p.Principal+"\", but you signed in as \""+who+"\": only the person whose agent asked can grant access. Nothing was granted and the link no longer works.")
		return
	}
	to, ok := d.upstreamAuthorize(w, r, id, p)
	if !ok {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: d.loginSecret("ok", id), Path: CallbackPath, HttpOnly: true,
		Secure: d.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int(d.o.ConsentTTL.Seconds())})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// signedIn exchanges the sign-in code and returns the principal its token
// names.
func (d *Delegation) signedIn(ctx context.Context, code, id string) (string, error) {
	_, token, err := d.loginEndpoints(ctx)
	if err != nil {
		return "", err
	}
	l := d.o.Login
	client := UpstreamConfig{TokenURL: token, ClientID: l.ClientID, ClientSecretFile: l.ClientSecretFile, ClientSecretEnv: l.ClientSecretEnv, AuthMethod: l.AuthMethod}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {d.o.BaseURL + LoginPath}, "code_verifier": {d.loginSecret("verifier", id)}}
	if l.Resource != "" {
		form.Set("resource", l.Resource)
	}
	tr, err := postToken(ctx, d.client, client, form)
	if err != nil {
		return "", fmt.Errorf("sign-in code exchange at %s: %w", hostOf(token), err)
	}
	who, err := l.Verify(ctx, tr.AccessToken)
	if err != nil {
		return "", fmt.Errorf("the sign-in token was refused: %w", err)
	}
	return who, nil
}

// loggedIn reports whether the browser signed in for consent id (always
// true without ConsentLogin).
func (d *Delegation) loggedIn(r *http.Request, id string) bool {
	if d.o.Login == nil {
		return true
	}
	c, err := r.Cookie(loginCookie)
	return err == nil && hmac.Equal([]byte(c.Value), []byte(d.loginSecret("ok", id)))
}
