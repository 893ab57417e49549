package authz

import (
	"errors"
	"html/template"
	"net/http"
)

// consentCookie ties the callback to the browser that confirmed the
// consent page (a code obtained in another browser is refused).
const consentCookie = "portcullis_consent"

// cookiePath scopes the consent cookie to the gateway's consent pages.
const cookiePath = "/oauth/upstream/"

// Handler serves the consent page (GET shows who is asking for which
// upstream, POST confirms and redirects to the upstream's authorization
// endpoint) and the callback that exchanges the code. Other paths get 404.
func (d *Delegation) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self' "+d.o.BaseURL+"; style-src 'unsafe-inline'")
		switch {
		case r.URL.Path == ConsentPath && r.Method == http.MethodGet:
			d.consentPage(w, r)
		case r.URL.Path == ConsentPath && r.Method == http.MethodPost:
			d.confirm(w, r)
		case r.URL.Path == CallbackPath && r.Method == http.MethodGet:
			d.callback(w, r)
		case r.URL.Path == LoginPath && r.Method == http.MethodGet && d.o.Login != nil:
			d.loginCallback(w, r)
		case r.URL.Path == ConsentPath || r.URL.Path == CallbackPath:
			w.Header().Set("Allow", "GET, POST")
			page(w, http.StatusMethodNotAllowed, "Method not allowed", "")
		default:
			page(w, http.StatusNotFound, "Not found", "")
		}
	})
}

var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>Portcullis: {{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}code{background:#eee;padding:0 .2em}</style></head>
<body><h1>{{.Title}}</h1>{{if .Text}}<p>{{.Text}}</p>{{end}}{{if .ID}}
<form method="post" action="{{.Action}}"><input type="hidden" name="id" value="{{.ID}}">
<p><button type="submit">Continue to {{.Host}}</button></p></form>
<p>If you did not start this from your own agent, close this page: whoever sent you the link would receive access to your account.</p>{{end}}
</body></html>`))

type pageData struct {
	Title, Text, ID, Action, Host string
}

func page(w http.ResponseWriter, status int, title, text string) {
	renderPage(w, status, pageData{Title: title, Text: text})
}

func renderPage(w http.ResponseWriter, status int, p pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

// consentError shows why a consent link cannot be used, without internal
// details (a store error names no address to the browser).
func consentError(w http.ResponseWriter, status int, err error) {
	switch {
	case errors.Is(err, errConsentGone):
		page(w, status, "Consent link not valid", err.Error())
	case errors.Is(err, errStore):
		page(w, http.StatusServiceUnavailable, "Try again later", "the gateway cannot reach its token store right now")
	default:
		page(w, status, "Consent link not valid", "this link was not issued by this gateway")
	}
}

// consentPage names the principal and the upstream before anything
// happens, so a user sent someone else's link can tell.
func (d *Delegation) consentPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	p, err := d.loadConsent(r.Context(), id, false)
	if err != nil {
		consentError(w, http.StatusNotFound, err)
		return
	}
	cfg, ok := d.lookup(r.Context(), p.Server)
	if !ok || cfg.Kind != UpstreamDelegated {
		page(w, http.StatusNotFound, "Consent link not valid", "this server no longer uses user-delegated access")
		return
	}
	text := "The MCP gateway asks for access to the upstream server \"" + p.Server + "\" on behalf of \"" + p.Principal + "\". You will sign in at " + hostOf(cfg.AuthorizationURL) + " and choose what to grant."
	if d.o.Login != nil {
		text = "The MCP gateway asks for access to the upstream server \"" + p.Server + "\" on behalf of \"" + p.Principal + "\". You will first sign in to the gateway as \"" + p.Principal + "\" (anyone else is refused), then at " + hostOf(cfg.AuthorizationURL) + " to choose what to grant."
	}
	renderPage(w, http.StatusOK, pageData{
		Title:  "Grant access to " + p.Server,
		Text:   text,
		ID:     id,
		Action: d.o.BaseURL + ConsentPath,
		Host:   hostOf(cfg.AuthorizationURL),
	})
}

func (d *Delegation) confirm(w http.ResponseWriter, r *http.Request) {
	// Only the consent page itself may confirm: a cross-site form that
	// auto-submits someone else's consent id would link the victim's
	// upstream account to that someone without a click.
	if o := r.Header.Get("Origin"); o != "" && o != d.o.BaseURL {
		page(w, http.StatusForbidden, "Consent not confirmed", "confirm on the consent page itself")
		return
	}
	if f := r.Header.Get("Sec-Fetch-Site"); f != "" && f != "same-origin" && f != "none" {
		page(w, http.StatusForbidden, "Consent not confirmed", "confirm on the consent page itself")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, "Bad request", "")
		return
	}
	id := r.PostForm.Get("id")
	p, err := d.loadConsent(r.Context(), id, false)
	if err != nil {
		consentError(w, http.StatusNotFound, err)
		return
	}
	to, ok := d.upstreamAuthorize(w, r, id, p)
	if !ok {
		return
	}
	if d.o.Login != nil {
		// The person signs in to the gateway first (delegated_login.go).
		var err error
		if to, err = d.loginURL(r.Context(), id); err != nil {
			page(w, http.StatusBadGateway, "Sign-in unavailable", "the gateway's authorization server cannot be reached; try again later")
			return
		}
	}
	// The cookie reaches the login callback and the upstream callback.
	http.SetCookie(w, &http.Cookie{Name: consentCookie, Value: d.browserBinding(id), Path: cookiePath, HttpOnly: true,
		Secure: d.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int(d.o.ConsentTTL.Seconds())})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (d *Delegation) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("state")
	c, err := r.Cookie(consentCookie)
	if err != nil || c.Value != d.browserBinding(id) {
		// Checked before the consent is consumed: a forged callback from
		// another browser cannot burn the user's link.
		page(w, http.StatusBadRequest, "Consent not confirmed in this browser", "open the consent link from your agent again in this browser")
		return
	}
	if !d.loggedIn(r, id) {
		page(w, http.StatusForbidden, "Not signed in", "sign in to the gateway as the person whose agent asked first: open the consent link from your agent again")
		return
	}
	p, err := d.loadConsent(r.Context(), id, true)
	if err != nil {
		consentError(w, http.StatusBadRequest, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: consentCookie, Value: "", Path: cookiePath, MaxAge: -1})
	if d.o.Login != nil {
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: CallbackPath, MaxAge: -1})
	}
	if e := q.Get("error"); e != "" {
		page(w, http.StatusOK, "Access not granted", "the authorization server answered "+quote(e)+": "+quote(q.Get("error_description"))+". Retry the call from your agent to start again.")
		return
	}
	code := q.Get("code")
	if code == "" {
		page(w, http.StatusBadRequest, "Bad callback", "the authorization server sent no code")
		return
	}
	if err := d.complete(r.Context(), p, code); err != nil {
		if errors.Is(err, errStore) {
			page(w, http.StatusServiceUnavailable, "Try again later", "the gateway cannot reach its token store right now; retry the call from your agent")
			return
		}
		page(w, http.StatusBadGateway, "Access could not be obtained", err.Error())
		return
	}
	page(w, http.StatusOK, "Access granted", "The gateway now holds access to \""+p.Server+"\" for \""+p.Principal+"\". Return to your agent and retry the call.")
}

// upstreamAuthorize is where the browser goes for consent p at its server's
// upstream authorization server; on false it has written the error page.
func (d *Delegation) upstreamAuthorize(w http.ResponseWriter, r *http.Request, id string, p *pending) (string, bool) {
	cfg, ok := d.lookup(r.Context(), p.Server)
	if !ok || cfg.Kind != UpstreamDelegated {
		page(w, http.StatusNotFound, "Consent link not valid", "this server no longer uses user-delegated access")
		return "", false
	}
	to, err := d.authorizeURL(cfg, id, p)
	if err != nil {
		page(w, http.StatusInternalServerError, "Configuration error", "the upstream authorization URL is not valid")
		return "", false
	}
	return to, true
}
