package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/approval"
)

//go:embed assets
var assets embed.FS

// Authenticator establishes who is calling the API.
type Authenticator interface {
	// Authenticate returns the approver or an error (401).
	Authenticate(r *http.Request) (approval.Approver, error)
	// Mode is "jwt" or "insecure-dev" (shown in the console).
	Mode() string
}

// Status is what the console shows about the gateway.
type Status struct {
	PolicyVersion string       `json:"policy_version"`
	Audit         *AuditStatus `json:"audit,omitempty"`
}

// AuditStatus summarises the audit chain.
type AuditStatus struct {
	Enabled   bool   `json:"enabled"`
	Valid     bool   `json:"valid"`
	Records   uint64 `json:"records"`
	LastSeq   uint64 `json:"last_seq"`
	Dropped   uint64 `json:"dropped"`
	Detail    string `json:"detail,omitempty"`
	CheckedAt string `json:"checked_at,omitempty"`
}

// Options configure a Handler.
type Options struct {
	Service *approval.Service
	Auth    Authenticator
	// Status reports policy version and audit chain state (may be nil).
	Status func(ctx context.Context) Status
	Logger *slog.Logger
}

// Handler serves the console and the API.
type Handler struct {
	o      Options
	secret []byte // CSRF token key, per process
	page   *template.Template
}

// New builds the handler.
func New(o Options) (*Handler, error) {
	if o.Service == nil || o.Auth == nil {
		return nil, errors.New("console: service and authenticator are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	page, err := template.ParseFS(assets, "assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	h := &Handler{o: o, secret: make([]byte, 32), page: page}
	if _, err := rand.Read(h.secret); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return h, nil
}

// Mount registers the console and API routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "assets")
	mux.HandleFunc("GET /approvals", h.index)
	mux.HandleFunc("GET /approvals/{id}", h.index)
	mux.Handle("GET /approvals/static/", h.secure(http.StripPrefix("/approvals/static/", http.FileServerFS(static))))
	mux.HandleFunc("GET /api/approvals", h.api(h.list))
	mux.HandleFunc("GET /api/approvals/status", h.api(h.status))
	mux.HandleFunc("GET /api/approvals/{id}", h.api(h.get))
	mux.HandleFunc("POST /api/approvals/{id}/approve", h.api(h.decide(true)))
	mux.HandleFunc("POST /api/approvals/{id}/reject", h.api(h.decide(false)))
}

const csrfCookie = "portcullis_csrf"

func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
}

func (h *Handler) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) csrfToken(cookie string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(cookie))
	return hex.EncodeToString(m.Sum(nil))
}

// index serves the console page with a fresh CSRF cookie and its token.
func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	c, err := r.Cookie(csrfCookie)
	val := ""
	if err == nil && len(c.Value) == 32 {
		val = c.Value
	} else {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		val = hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: val, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = h.page.Execute(w, map[string]any{"CSRF": h.csrfToken(val), "Mode": h.o.Auth.Mode()})
}

type apiFunc func(w http.ResponseWriter, r *http.Request, a approval.Approver) (any, int, error)

// api wraps an endpoint: security headers, cross-origin refusal, CSRF for
// browsers, authentication, JSON output.
func (h *Handler) api(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		w.Header().Set("Content-Type", "application/json")
		if err := h.checkOrigin(r); err != nil {
			writeErr(w, http.StatusForbidden, err)
			return
		}
		if r.Method == http.MethodPost {
			if err := h.checkCSRF(r); err != nil {
				writeErr(w, http.StatusForbidden, err)
				return
			}
		}
		a, err := h.o.Auth.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis-approvals"`)
			writeErr(w, http.StatusUnauthorized, err)
			return
		}
		out, code, err := fn(w, r, a)
		if err != nil {
			writeErr(w, code, err)
			return
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(out)
	}
}

func writeErr(w http.ResponseWriter, code int, err error) {
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// checkOrigin refuses cross-site browser requests.
func (h *Handler) checkOrigin(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("cross-origin request refused (Origin %q, Host %q)", o, r.Host)
		}
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return fmt.Errorf("cross-site request refused (Sec-Fetch-Site %s)", s)
	}
	return nil
}

// checkCSRF: POSTs carry a JSON body; browser requests (a cookie or an
// Origin) also carry the token bound to the SameSite cookie. Non-browser
// clients (the CLI) authenticate with headers a cross-site page cannot set.
func (h *Handler) checkCSRF(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return errors.New("POST requires Content-Type: application/json")
	}
	c, cerr := r.Cookie(csrfCookie)
	if cerr != nil && r.Header.Get("Origin") == "" {
		return nil
	}
	if cerr != nil {
		return errors.New("missing CSRF cookie: reload the console")
	}
	tok := r.Header.Get("X-CSRF-Token")
	if !hmac.Equal([]byte(tok), []byte(h.csrfToken(c.Value))) {
		return errors.New("invalid CSRF token: reload the console")
	}
	return nil
}

// View is a request as the API shows it.
type View struct {
	ID            string            `json:"id"`
	Status        approval.Status   `json:"status"`
	Principal     string            `json:"principal"`
	User          string            `json:"user,omitempty"`
	Server        string            `json:"server"`
	Method        string            `json:"method"`
	Tool          string            `json:"tool"`
	ArgsDigest    string            `json:"args_digest"`
	Arguments     json.RawMessage   `json:"arguments,omitempty"`
	PolicyVersion string            `json:"policy_version"`
	Rule          string            `json:"rule,omitempty"`
	Score         int               `json:"score"`
	Factors       []approval.Factor `json:"factors,omitempty"`
	Created       time.Time         `json:"created"`
	Expires       time.Time         `json:"expires"`
	Decided       time.Time         `json:"decided,omitzero"`
	Used          time.Time         `json:"used,omitzero"`
	Votes         []approval.Vote   `json:"votes,omitempty"`
	Quorum        int               `json:"quorum"`
	Approvers     []string          `json:"approvers,omitempty"`
	Groups        []string          `json:"groups,omitempty"`
	AllowSelf     bool              `json:"allow_self,omitempty"`
	Reason        string            `json:"reason,omitempty"`
	Notified      []string          `json:"notified,omitempty"`
	URL           string            `json:"url,omitempty"`
	CanDecide     bool              `json:"can_decide"`
}

func (h *Handler) view(r *approval.Request, a approval.Approver) View {
	b := r.Binding
	v := View{ID: r.ID, Status: r.Status, Principal: b.Principal, User: b.User, Server: b.Server, Method: b.Method, Tool: b.Tool,
		ArgsDigest: b.ArgsDigest, PolicyVersion: b.PolicyVersion, Rule: b.Rule, Score: b.Score, Factors: b.Factors,
		Created: r.Created, Expires: r.Expires, Decided: r.Decided, Used: r.Used, Votes: r.Votes, Quorum: r.Policy.Quorum,
		Approvers: r.Policy.Approvers, Groups: r.Policy.Groups, AllowSelf: r.Policy.AllowSelf, Reason: r.Reason,
		Notified: r.Notified, URL: h.o.Service.URL(r.ID)}
	if len(r.Arguments) > 0 && json.Valid(r.Arguments) {
		v.Arguments = r.Arguments
	}
	v.CanDecide = r.Status == approval.StatusPending && !voted(r, a.ID)
	return v
}

func voted(r *approval.Request, id string) bool {
	for _, v := range r.Votes {
		if v.By == id {
			return true
		}
	}
	return false
}

func (h *Handler) list(_ http.ResponseWriter, r *http.Request, a approval.Approver) (any, int, error) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, http.StatusBadRequest, errors.New("limit must be 1..1000")
		}
		limit = n
	}
	want := approval.Status(r.URL.Query().Get("status"))
	rs, err := h.o.Service.List(r.Context(), limit)
	if err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	out := []View{}
	for _, x := range rs {
		if want == "" || x.Status == want {
			out = append(out, h.view(x, a))
		}
	}
	return map[string]any{"approvals": out, "approver": a.ID, "mode": h.o.Auth.Mode()}, http.StatusOK, nil
}

func (h *Handler) get(_ http.ResponseWriter, r *http.Request, a approval.Approver) (any, int, error) {
	x, err := h.o.Service.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, approval.ErrNotFound) {
		return nil, http.StatusNotFound, err
	}
	if err != nil {
		return nil, http.StatusServiceUnavailable, err
	}
	return h.view(x, a), http.StatusOK, nil
}

func (h *Handler) status(_ http.ResponseWriter, r *http.Request, a approval.Approver) (any, int, error) {
	var st Status
	if h.o.Status != nil {
		st = h.o.Status(r.Context())
	}
	return map[string]any{"policy_version": st.PolicyVersion, "audit": st.Audit, "mode": h.o.Auth.Mode(), "approver": a.ID}, http.StatusOK, nil
}

func (h *Handler) decide(approve bool) apiFunc {
	return func(_ http.ResponseWriter, r *http.Request, a approval.Approver) (any, int, error) {
		var body struct {
			Comment string `json:"comment"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 8<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			return nil, http.StatusBadRequest, fmt.Errorf("body: %w", err)
		}
		x, err := h.o.Service.Decide(r.Context(), r.PathValue("id"), a, approve, body.Comment)
		switch {
		case errors.Is(err, approval.ErrNotFound):
			return nil, http.StatusNotFound, err
		case errors.Is(err, approval.ErrNotAllowed):
			return nil, http.StatusForbidden, err
		case errors.Is(err, approval.ErrNotPending), errors.Is(err, approval.ErrAlreadyVoted):
			return nil, http.StatusConflict, err
		case err != nil:
			return nil, http.StatusServiceUnavailable, err
		}
		return h.view(x, a), http.StatusOK, nil
	}
}

// InsecureDev accepts the approver name from the X-Portcullis-Approver
// header without checking it. Development only.
type InsecureDev struct{}

// HeaderApprover carries the approver name in insecure development mode.
const HeaderApprover = "X-Portcullis-Approver"

// Authenticate implements Authenticator.
func (InsecureDev) Authenticate(r *http.Request) (approval.Approver, error) {
	id := strings.TrimSpace(r.Header.Get(HeaderApprover))
	if id == "" || len(id) > 128 {
		return approval.Approver{}, errors.New("insecure development mode: name yourself in the " + HeaderApprover + " header (1..128 characters)")
	}
	return approval.Approver{ID: id, Insecure: true}, nil
}

// Mode implements Authenticator.
func (InsecureDev) Mode() string { return "insecure-dev" }

// MTLS takes the approver from the verified client certificate of a TLS
// admin listener that requires client certificates (the listener verifies
// the chain; this only reads the verified leaf): the first URI SAN, else the
// first email SAN, else the subject common name. Organizational units are
// the approver's groups.
type MTLS struct{}

// Authenticate implements Authenticator.
func (MTLS) Authenticate(r *http.Request) (approval.Approver, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return approval.Approver{}, errors.New("approver client certificate required (the admin listener must verify client certificates)")
	}
	c := r.TLS.VerifiedChains[0][0]
	id := c.Subject.CommonName
	if len(c.EmailAddresses) > 0 {
		id = c.EmailAddresses[0]
	}
	if len(c.URIs) > 0 {
		id = c.URIs[0].String()
	}
	if id == "" {
		return approval.Approver{}, errors.New("approver client certificate names nobody (no URI/email SAN, no common name)")
	}
	return approval.Approver{ID: id, Groups: c.Subject.OrganizationalUnit}, nil
}

// Mode implements Authenticator.
func (MTLS) Mode() string { return "mtls" }

// Deny refuses everyone: approvals are on but no approver authentication
// is configured (fail closed).
type Deny struct{}

// Authenticate implements Authenticator.
func (Deny) Authenticate(*http.Request) (approval.Approver, error) {
	return approval.Approver{}, errors.New("no approver authentication is configured: set approvals.auth.jwt (or approvals.auth.insecure_dev for local development)")
}

// Mode implements Authenticator.
func (Deny) Mode() string { return "none" }
