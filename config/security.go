package config

import (
	"fmt"
	"time"
)

// Identity selects how the agent is identified. Every section is optional;
// with none, every call is the policy's anonymous identity.
type Identity struct {
	JWT    *JWTIdentity    `yaml:"jwt"`
	SPIFFE *SPIFFEIdentity `yaml:"spiffe"`
	// Header takes the identity from a plain request header. It is for local
	// development only: anyone can set a header. It is logged as insecure.
	Header *HeaderIdentity `yaml:"header"`
	// OAuth makes the gateway the OAuth resource server (config/authz.go).
	OAuth *OAuthIdentity `yaml:"oauth"`
	// UpstreamOAuth configures user-delegated upstream OAuth: the key that
	// seals the users' upstream tokens and the public URL of the consent
	// pages (config/authz.go).
	UpstreamOAuth *UpstreamOAuth `yaml:"upstream_oauth"`
}

// JWTIdentity verifies bearer tokens against a JWKS.
type JWTIdentity struct {
	Issuer       string        `yaml:"issuer"`
	Audience     []string      `yaml:"audience"`
	JWKSFile     string        `yaml:"jwks_file"`
	JWKSURL      string        `yaml:"jwks_url"`
	Header       string        `yaml:"header"`
	Algorithms   []string      `yaml:"algorithms"`
	Leeway       time.Duration `yaml:"leeway"`
	GroupsClaim  string        `yaml:"groups_claim"`
	RolesClaim   string        `yaml:"roles_claim"`
	TrustClaim   string        `yaml:"trust_claim"`
	DefaultTrust string        `yaml:"default_trust"`
}

// SPIFFEIdentity accepts the client certificate's SPIFFE ID that Envoy
// forwards in ext_proc attributes (connection.uri_san_peer_certificate).
type SPIFFEIdentity struct {
	TrustDomains []string `yaml:"trust_domains"`
	Trust        string   `yaml:"trust"`
}

// HeaderIdentity reads the agent id (and groups) from headers. Insecure.
type HeaderIdentity struct {
	Name       string `yaml:"name"`
	GroupsName string `yaml:"groups_name"`
	Trust      string `yaml:"trust"`
}

// PolicyRef points at the policy file (see policy/ and docs/policy.md).
type PolicyRef struct {
	// File is the policy YAML. Empty: only the trust plane (servers and
	// tools above) and the built-in result rules apply.
	File string `yaml:"file"`
	// Watch is how often the file is checked for changes (default 2s, 0s
	// keeps the default; reloads also happen on SIGHUP and POST /admin/reload).
	Watch time.Duration `yaml:"watch"`
}

// Detectors configures the detection engine.
type Detectors struct {
	// Enabled turns detection on (default true).
	Enabled *bool `yaml:"enabled"`
	// Redaction is the surrogate style: mask ([EMAIL_1]), hash (keyed HMAC)
	// or synthetic (format-preserving fakes). Default mask.
	Redaction string `yaml:"redaction"`
	// HashKeyFile holds the HMAC key for hash mode (default: a random key
	// per process, so hashes are stable only within one run).
	HashKeyFile string `yaml:"hash_key_file"`
	// Results are the built-in result-plane rules used when no policy file
	// is configured: injection notice|block|allow, secrets and pii
	// redact|block|allow.
	Results ResultRules `yaml:"results"`
}

// ResultRules are the built-in result-plane actions per detector family.
type ResultRules struct {
	Injection string `yaml:"injection"`
	Secrets   string `yaml:"secrets"`
	PII       string `yaml:"pii"`
}

// DetectionEnabled reports whether detectors run.
func (d *Detectors) DetectionEnabled() bool { return d.Enabled == nil || *d.Enabled }

func (d *Detectors) applyDefaults() {
	if d.Redaction == "" {
		d.Redaction = "mask"
	}
	if d.Results.Injection == "" {
		d.Results.Injection = "notice"
	}
	if d.Results.Secrets == "" {
		d.Results.Secrets = "redact"
	}
	if d.Results.PII == "" {
		d.Results.PII = "redact"
	}
}

func (p *PolicyRef) applyDefaults() {
	if p.Watch == 0 {
		p.Watch = 2 * time.Second
	}
}

func (c *Config) validateSecurity(add func(path, format string, args ...any)) {
	d := &c.Detectors
	switch d.Redaction {
	case "mask", "hash", "synthetic":
	default:
		add("detectors.redaction", "%q is not one of mask, hash, synthetic", d.Redaction)
	}
	oneOf := func(path, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		add(path, "%q is not one of %v", v, allowed)
	}
	oneOf("detectors.results.injection", d.Results.Injection, "notice", "block", "allow")
	oneOf("detectors.results.secrets", d.Results.Secrets, "redact", "block", "allow")
	oneOf("detectors.results.pii", d.Results.PII, "redact", "block", "allow")
	if r := c.Telemetry.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		add("telemetry.sample_ratio", "must be between 0 and 1, got %v", *r)
	}
	if u := c.Telemetry.OTLPTracesURL; u != "" {
		if err := checkUpstreamURL(u); err != nil {
			add("telemetry.otlp_traces_url", "%v", err)
		}
	}
	if c.Policy.Watch < 0 {
		add("policy.watch", "must not be negative")
	}
	if j := c.Identity.JWT; j != nil {
		if j.Issuer == "" {
			add("identity.jwt.issuer", "is required")
		}
		if len(j.Audience) == 0 {
			add("identity.jwt.audience", "needs at least one audience")
		}
		if (j.JWKSFile == "") == (j.JWKSURL == "") {
			add("identity.jwt", "set exactly one of jwks_file and jwks_url")
		}
		for i, a := range j.Algorithms {
			switch a {
			case "RS256", "ES256", "EdDSA":
			default:
				add(fmt.Sprintf("identity.jwt.algorithms[%d]", i), "%q is not allowed (RS256, ES256, EdDSA)", a)
			}
		}
	}
}

// XDS tunes the ADS server that serves listen.xds (see xds.Options).
type XDS struct {
	// NodeID is the Envoy node.id to serve (default "portcullis").
	NodeID string `yaml:"node_id"`
	// EnvoyListen is Envoy's MCP listener address (default 0.0.0.0:10000).
	EnvoyListen string `yaml:"envoy_listen"`
	// ExtProc is where Envoy reaches the processor (default listen.extproc).
	ExtProc string `yaml:"extproc"`
	// Admin is where Envoy reaches the gateway's HTTP endpoints (default listen.admin).
	Admin string `yaml:"admin"`
	// MaxMessageTimeout is ext_proc's max_message_timeout (default 300s).
	MaxMessageTimeout time.Duration `yaml:"max_message_timeout"`
}

// Telemetry configures trace export (metrics are always on /metrics).
type Telemetry struct {
	// OTLPTracesURL is an OTLP/HTTP traces endpoint, e.g.
	// http://127.0.0.1:4318/v1/traces. Empty: spans are not exported.
	OTLPTracesURL string `yaml:"otlp_traces_url"`
	// SampleRatio of new traces to sample (default 1); an incoming
	// traceparent's sampling decision is always followed.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// Exporter and File: see config/observe.go.
	Exporter string `yaml:"exporter"`
	File     string `yaml:"file"`
}

// BehaviorStore selects where the session/behaviour engine keeps state (its
// rules live in the policy's spec.behavior).
type BehaviorStore struct {
	// Redis is host:port of a Redis shared by all processor replicas.
	// Empty: in-memory, bounded by MaxEntries / MaxBytes.
	Redis      string `yaml:"redis"`
	Prefix     string `yaml:"prefix"`
	MaxEntries int    `yaml:"max_entries"`
	MaxBytes   int64  `yaml:"max_bytes"`
}
