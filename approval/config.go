package approval

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"time"
)

// Config is the approvals section of portcullis.yaml.
type Config struct {
	// Timeout is how long a request stays pending (default 15m).
	Timeout time.Duration `yaml:"timeout"`
	// GrantTTL is how long an approved request can be used (default 10m).
	GrantTTL time.Duration `yaml:"grant_ttl"`
	// OnTimeout is the outcome when nobody decides in time: reject
	// (default) or approve.
	OnTimeout string `yaml:"on_timeout"`
	// Hold keeps a call open this long waiting for a quick decision
	// (default 0: answer at once). At most MaxHold, and it must stay below
	// the data plane's ext_proc message timeout.
	Hold time.Duration `yaml:"hold"`
	// ConsoleURL is the console's external base URL as approvers reach it,
	// e.g. https://gateway.example.org:9901 (default: derived from
	// listen.admin by the gateway).
	ConsoleURL string `yaml:"console_url"`
	// Rules say who approves what; first match wins. Without rules anyone
	// authenticated as an approver may approve, one approval suffices and
	// the requester may not approve their own call.
	Rules []Rule `yaml:"rules"`
	// StateKeys seal the 2026-07-28 requestState (HMAC-SHA256). The first
	// key signs; all verify (rotation: prepend a new key, drop the old one
	// after the longest timeout). Without keys a random per-process key is
	// used, which only works for a single instance.
	StateKeys []Secret `yaml:"state_keys"`
	// Redis shares approval state between gateway instances ("" = memory).
	Redis string `yaml:"redis"`
	// Prefix for Redis keys (default "portcullis:apr:").
	Prefix string `yaml:"prefix"`
	// Auth is how approvers authenticate to the console and API.
	Auth Auth `yaml:"auth"`
	// Notify are the channels told about new requests.
	Notify Notify `yaml:"notify"`
}

// Rule matches calls and names who may approve them.
type Rule struct {
	Name    string   `yaml:"name"`
	Servers []string `yaml:"servers"` // globs; empty = any
	Tools   []string `yaml:"tools"`   // globs; empty = any
	// MinScore: the rule applies from this risk score up.
	MinScore int `yaml:"min_score"`
	// Approvers and Groups who may approve (empty both = anyone authenticated).
	Approvers []string `yaml:"approvers"`
	Groups    []string `yaml:"groups"`
	// Quorum is k in k-of-n: distinct approvals needed (default 1).
	Quorum int `yaml:"quorum"`
	// AllowSelf lets the calling principal approve their own call.
	AllowSelf bool `yaml:"allow_self"`
	// SeparationOfDutiesScore: from this risk score up the requester may
	// not approve their own call even when AllowSelf is set (0 = never).
	SeparationOfDutiesScore int `yaml:"separation_of_duties_score"`
	// OnTimeout overrides the section's OnTimeout for this rule.
	OnTimeout string `yaml:"on_timeout"`
}

// Secret is a key given inline (tests only), from an environment variable
// or from a file.
type Secret struct {
	ID    string `yaml:"id"`
	Value string `yaml:"value"`
	Env   string `yaml:"env"`
	File  string `yaml:"file"`
}

// Resolve returns the secret's bytes.
func (s Secret) Resolve() ([]byte, error) {
	switch {
	case s.Value != "":
		return []byte(s.Value), nil
	case s.Env != "":
		v := os.Getenv(s.Env)
		if v == "" {
			return nil, fmt.Errorf("environment variable %s is empty", s.Env)
		}
		return []byte(v), nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("read secret: %w", err)
		}
		return trimNewline(b), nil
	}
	return nil, errors.New("one of value, env or file is required")
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Auth configures approver authentication.
type Auth struct {
	// JWT verifies approvers' bearer tokens (same fields as identity.jwt).
	JWT *JWTAuth `yaml:"jwt"`
	// MTLS identifies approvers by the verified client certificate of the
	// admin listener (which must require and verify client certificates):
	// URI SAN, else email SAN, else common name; OUs are groups.
	MTLS bool `yaml:"mtls"`
	// InsecureDev accepts any approver name without authentication. For
	// local development only: the console shows a warning banner and the
	// audit log marks such decisions.
	InsecureDev bool `yaml:"insecure_dev"`
}

// JWTAuth verifies approver tokens.
type JWTAuth struct {
	Issuer      string   `yaml:"issuer"`
	Audience    []string `yaml:"audience"`
	JWKSFile    string   `yaml:"jwks_file"`
	JWKSURL     string   `yaml:"jwks_url"`
	Algorithms  []string `yaml:"algorithms"`
	GroupsClaim string   `yaml:"groups_claim"`
}

// Notify lists notification channels.
type Notify struct {
	// Webhook receives a JSON event signed with HMAC-SHA256
	// (X-Portcullis-Signature: t=<unix>,v1=<hex>).
	Webhook *Webhook `yaml:"webhook"`
	// Slack and Teams incoming-webhook URLs (secrets: give them by env/file).
	Slack *Secret `yaml:"slack"`
	Teams *Secret `yaml:"teams"`
}

// Webhook is a signed generic webhook.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"`
}

// Defaults.
const (
	DefaultTimeout  = 15 * time.Minute
	DefaultGrantTTL = 10 * time.Minute
	DefaultPrefix   = "portcullis:apr:"
	// MaxHold bounds Hold: below the 60 s default request timeout of the
	// MCP TypeScript SDK, with room for the call itself.
	MaxHold = 25 * time.Second
)

// ApplyDefaults fills unset fields.
func (c *Config) ApplyDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.GrantTTL == 0 {
		c.GrantTTL = DefaultGrantTTL
	}
	if c.OnTimeout == "" {
		c.OnTimeout = "reject"
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	for i := range c.Rules {
		if c.Rules[i].Quorum == 0 {
			c.Rules[i].Quorum = 1
		}
	}
}

// Validate reports every problem, each with its field path (relative to
// the section).
func (c *Config) Validate() error {
	var errs []error
	add := func(p, f string, a ...any) { errs = append(errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(f, a...))) }
	if c.Timeout < time.Second {
		add("timeout", "must be at least 1s, got %s", c.Timeout)
	}
	if c.GrantTTL < time.Second {
		add("grant_ttl", "must be at least 1s, got %s", c.GrantTTL)
	}
	if !validOutcome(c.OnTimeout) {
		add("on_timeout", "must be reject or approve, got %q", c.OnTimeout)
	}
	if c.Hold < 0 || c.Hold > MaxHold {
		add("hold", "must be between 0 and %s, got %s", MaxHold, c.Hold)
	}
	if c.ConsoleURL != "" {
		if u, err := url.Parse(c.ConsoleURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("console_url", "must be an http(s) URL, got %q", c.ConsoleURL)
		}
	}
	for i, r := range c.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		for j, g := range slices.Concat(r.Servers, r.Tools) {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				add(fmt.Sprintf("%s.servers/tools[%d]", p, j), "invalid glob %q", g)
			}
		}
		if r.Quorum < 1 || r.Quorum > 16 {
			add(p+".quorum", "must be between 1 and 16, got %d", r.Quorum)
		}
		if len(r.Groups) == 0 && len(r.Approvers) > 0 && r.Quorum > len(r.Approvers)+boolInt(r.AllowSelf) {
			add(p+".quorum", "%d approvals can never be reached with %d named approvers", r.Quorum, len(r.Approvers))
		}
		if r.MinScore < 0 || r.MinScore > 100 {
			add(p+".min_score", "must be between 0 and 100, got %d", r.MinScore)
		}
		if r.SeparationOfDutiesScore < 0 || r.SeparationOfDutiesScore > 100 {
			add(p+".separation_of_duties_score", "must be between 0 and 100, got %d", r.SeparationOfDutiesScore)
		}
		if r.OnTimeout != "" && !validOutcome(r.OnTimeout) {
			add(p+".on_timeout", "must be reject or approve, got %q", r.OnTimeout)
		}
	}
	ids := map[string]bool{}
	for i, k := range c.StateKeys {
		p := fmt.Sprintf("state_keys[%d]", i)
		if k.ID == "" || len(k.ID) > 32 {
			add(p+".id", "is required (at most 32 characters)")
		} else if ids[k.ID] {
			add(p+".id", "duplicate key id %q", k.ID)
		}
		ids[k.ID] = true
		if n := boolInt(k.Value != "") + boolInt(k.Env != "") + boolInt(k.File != ""); n != 1 {
			add(p, "exactly one of value, env or file is required")
		}
	}
	if c.Auth.JWT != nil {
		j := c.Auth.JWT
		if j.Issuer == "" {
			add("auth.jwt.issuer", "is required")
		}
		if len(j.Audience) == 0 {
			add("auth.jwt.audience", "is required")
		}
		if (j.JWKSFile == "") == (j.JWKSURL == "") {
			add("auth.jwt", "exactly one of jwks_file and jwks_url is required")
		}
		if c.Auth.InsecureDev {
			add("auth.insecure_dev", "cannot be combined with auth.jwt")
		}
	}
	if c.Auth.MTLS && (c.Auth.JWT != nil || c.Auth.InsecureDev) {
		add("auth.mtls", "cannot be combined with auth.jwt or auth.insecure_dev")
	}
	if w := c.Notify.Webhook; w != nil {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("notify.webhook.url", "must be an http(s) URL, got %q", w.URL)
		}
		if n := boolInt(w.Secret.Value != "") + boolInt(w.Secret.Env != "") + boolInt(w.Secret.File != ""); n != 1 {
			add("notify.webhook.secret", "exactly one of value, env or file is required (webhooks are always signed)")
		}
	}
	for name, s := range map[string]*Secret{"notify.slack": c.Notify.Slack, "notify.teams": c.Notify.Teams} {
		if s != nil && boolInt(s.Value != "")+boolInt(s.Env != "")+boolInt(s.File != "") != 1 {
			add(name, "exactly one of value, env or file is required")
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return compareStr(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func validOutcome(s string) bool { return s == "reject" || s == "approve" }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// resolve returns the policy for a binding: the first matching rule, or
// the default (anyone authenticated, quorum 1, no self-approval).
func (c *Config) resolve(b *Binding) Policy {
	outcome := func(s string) Status {
		if s == "approve" {
			return StatusApproved
		}
		return StatusRejected
	}
	for _, r := range c.Rules {
		if b.Score < r.MinScore || !matchAny(r.Servers, b.Server) || !matchAny(r.Tools, b.Tool) {
			continue
		}
		p := Policy{Rule: r.Name, Approvers: r.Approvers, Groups: r.Groups, Quorum: max(r.Quorum, 1),
			AllowSelf: r.AllowSelf, SelfMaxScore: r.SeparationOfDutiesScore, OnTimeout: outcome(c.OnTimeout)}
		if r.OnTimeout != "" {
			p.OnTimeout = outcome(r.OnTimeout)
		}
		return p
	}
	return Policy{Quorum: 1, OnTimeout: outcome(c.OnTimeout)}
}

func matchAny(globs []string, s string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}
