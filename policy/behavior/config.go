package behavior

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/config"
)

// Actions a rule may force. The processor maps them to policy decisions.
const (
	ActionBlock           = "block"
	ActionRequireApproval = "require_approval"
)

// Pinning modes.
const (
	PinBlock = "block" // changed tools are withheld and blocked until approved (default)
	PinWarn  = "warn"  // changed tools are reported but not blocked
	PinOff   = "off"   // no pinning
)

// Rate-limit scopes.
const (
	ScopeAgent  = "agent"
	ScopeTool   = "tool"
	ScopeServer = "server"
)

// Config is the policy's spec.behavior section. Zero values are replaced by
// ApplyDefaults; Validate reports every problem with its field path.
type Config struct {
	// Window is the length of the fixed windows that baselines are learned
	// over and velocity is measured in (default 1m).
	Window time.Duration `yaml:"window"`
	// Alpha is the EWMA smoothing factor for baselines, in (0,1] (default 0.3).
	Alpha float64 `yaml:"alpha"`
	// Warmup is how many active windows an agent needs before anomalies
	// score (default 3).
	Warmup int `yaml:"warmup"`
	// BaselineTTL is how long an idle agent's baseline and known resources
	// are kept (default 168h).
	BaselineTTL time.Duration `yaml:"baseline_ttl"`
	// SessionTTL is how long session state (sensitive categories and values
	// seen) is kept after its last update (default 1h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	Anomaly    Anomaly       `yaml:"anomaly"`
	// EgressTools are globs of tools that send data out (email, HTTP posts,
	// public writes). A glob with a '/' matches "server/tool", otherwise
	// the tool name.
	EgressTools []string `yaml:"egress_tools"`
	// SensitiveCategories are the finding categories that arm sequence
	// rules (default pii, pci, phi, secret, internal). At most 64.
	SensitiveCategories []string `yaml:"sensitive_categories"`
	// Sequences are toxic-flow rules. Default: one rule
	// "sensitive-then-egress" (any sensitive category, then an egress tool
	// → block) when egress_tools is set.
	Sequences []Sequence `yaml:"sequences"`
	// Verbatim is what happens when a sensitive value from an earlier
	// result appears verbatim in a later call's arguments.
	Verbatim Verbatim `yaml:"verbatim"`
	// RateLimits are per agent, per tool or per server.
	RateLimits []RateLimit `yaml:"rate_limits"`
	Pinning    Pinning     `yaml:"pinning"`
	// Salt keys the hashes of sensitive values. Replicas sharing a store
	// must share it; empty means random per Engine.
	Salt string `yaml:"salt"`
	// OnStoreError is what the engine does when its store fails (Redis
	// unreachable). It is a deployment setting taken from the gateway
	// configuration (state.on_unavailable), never from the policy.
	OnStoreError StoreErrorPolicy `yaml:"-"`
}

// StoreErrorPolicy opens state kinds that otherwise fail closed when the
// store errors. The zero value fails closed: a call whose rate-limit
// counters or tool pin cannot be read is blocked. Anomaly scores always
// fail open (score 0, the reason says why).
type StoreErrorPolicy struct {
	RateLimitsOpen bool
	PinsOpen       bool
}

// Anomaly holds the thresholds of the anomaly scores.
type Anomaly struct {
	// VelocityRatio: calls per window above this multiple of the baseline
	// start scoring (default 3).
	VelocityRatio float64 `yaml:"velocity_ratio"`
	// VolumeRatio: bytes or records per window above this multiple of the
	// baseline start scoring (default 5).
	VolumeRatio float64 `yaml:"volume_ratio"`
	// MinCalls: velocity never scores below this many calls per window
	// (default 10), so quiet agents are not flagged for small bursts.
	MinCalls int `yaml:"min_calls"`
	// MinBytes: volume never scores below this many bytes per window
	// (default 65536).
	MinBytes int `yaml:"min_bytes"`
	// NewResourceScore is the score of a resource prefix never touched
	// before by a warmed-up agent (default 50); sensitive system paths add
	// 30.
	NewResourceScore int `yaml:"new_resource_score"`
	// NewToolScore is the score of a tool or server never used before by a
	// warmed-up agent (default 20).
	NewToolScore int `yaml:"new_tool_score"`
}

// Sequence is one toxic-flow rule: a result in the session carrying one of
// After's categories, then a call to a tool matching Then.
type Sequence struct {
	Name string `yaml:"name"`
	// After lists sensitive categories (empty: any of
	// sensitive_categories).
	After []string `yaml:"after"`
	// Then lists tool globs (empty: egress_tools).
	Then []string `yaml:"then"`
	// Action is block or require_approval (default block).
	Action string `yaml:"action"`
	// MinRecords and MinBytes make it a bulk rule: it fires only when the
	// session's results so far total at least this many records or bytes
	// (0: any amount).
	MinRecords int64 `yaml:"min_records"`
	MinBytes   int64 `yaml:"min_bytes"`
}

// Verbatim configures the verbatim-value signal.
type Verbatim struct {
	// Action is "", block or require_approval (default require_approval);
	// the score is raised in any case.
	Action *string `yaml:"action"`
	// Score is the behavioural score when it fires (default 80).
	Score int `yaml:"score"`
}

// RateLimit allows Limit calls per Window for each agent, tool or server.
type RateLimit struct {
	Name  string `yaml:"name"`
	Scope string `yaml:"scope"` // agent, tool or server
	// Match restricts the limit to matching agents, tools ("server/tool"
	// or tool globs) or servers; empty matches all.
	Match  string        `yaml:"match"`
	Limit  int           `yaml:"limit"`
	Window time.Duration `yaml:"window"` // default 1m
	Action string        `yaml:"action"` // block (default) or require_approval
}

// Pinning configures rug-pull detection.
type Pinning struct {
	Mode string `yaml:"mode"` // block (default), warn or off
	// Pinned maps server → tool → SHA-256 hex of the tool's canonical
	// definition (see ToolHash); these win over hashes learned on first
	// sight.
	Pinned map[string]map[string]string `yaml:"pinned"`
	// MaxToolsPerServer bounds pinned state per server (default 4096).
	MaxToolsPerServer int `yaml:"max_tools_per_server"`
}

// ParseConfig strictly decodes a behavior section (YAML), applies defaults
// and validates it.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := config.DecodeStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("behavior config: %w", err)
	}
	c.ApplyDefaults()
	if errs := c.Validate(""); len(errs) > 0 {
		return Config{}, fmt.Errorf("behavior config: %w", joinErrs(errs))
	}
	return c, nil
}

// DefaultSensitive are the default sensitive categories.
var DefaultSensitive = []string{"pii", "pci", "phi", "secret", "internal"}

// ApplyDefaults fills every zero field with its documented default.
func (c *Config) ApplyDefaults() {
	if c.Window == 0 {
		c.Window = time.Minute
	}
	if c.Alpha == 0 {
		c.Alpha = 0.3
	}
	if c.Warmup == 0 {
		c.Warmup = 3
	}
	if c.BaselineTTL == 0 {
		c.BaselineTTL = 168 * time.Hour
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = time.Hour
	}
	a := &c.Anomaly
	if a.VelocityRatio == 0 {
		a.VelocityRatio = 3
	}
	if a.VolumeRatio == 0 {
		a.VolumeRatio = 5
	}
	if a.MinCalls == 0 {
		a.MinCalls = 10
	}
	if a.MinBytes == 0 {
		a.MinBytes = 65536
	}
	if a.NewResourceScore == 0 {
		a.NewResourceScore = 50
	}
	if a.NewToolScore == 0 {
		a.NewToolScore = 20
	}
	if len(c.SensitiveCategories) == 0 {
		c.SensitiveCategories = slices.Clone(DefaultSensitive)
	}
	if len(c.Sequences) == 0 && len(c.EgressTools) > 0 {
		c.Sequences = []Sequence{{Name: "sensitive-then-egress"}}
	}
	for i := range c.Sequences {
		if c.Sequences[i].Action == "" {
			c.Sequences[i].Action = ActionBlock
		}
	}
	if c.Verbatim.Action == nil {
		s := ActionRequireApproval
		c.Verbatim.Action = &s
	}
	if c.Verbatim.Score == 0 {
		c.Verbatim.Score = 80
	}
	for i := range c.RateLimits {
		r := &c.RateLimits[i]
		if r.Window == 0 {
			r.Window = time.Minute
		}
		if r.Action == "" {
			r.Action = ActionBlock
		}
		if r.Name == "" {
			r.Name = r.Scope
		}
	}
	if c.Pinning.Mode == "" {
		c.Pinning.Mode = PinBlock
	}
	if c.Pinning.MaxToolsPerServer == 0 {
		c.Pinning.MaxToolsPerServer = 4096
	}
}

// Validate returns every problem, each prefixed with its field path under
// prefix (e.g. "spec.behavior"). Call ApplyDefaults first.
func (c *Config) Validate(prefix string) []error {
	var errs []error
	add := func(path, format string, args ...any) {
		if prefix != "" {
			path = prefix + "." + path
		}
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.Window < time.Second || c.Window > 24*time.Hour {
		add("window", "must be between 1s and 24h, got %s", c.Window)
	}
	if !(c.Alpha > 0 && c.Alpha <= 1) {
		add("alpha", "must be in (0,1], got %v", c.Alpha)
	}
	if c.Warmup < 1 || c.Warmup > 1000 {
		add("warmup", "must be between 1 and 1000, got %d", c.Warmup)
	}
	if c.BaselineTTL < c.Window {
		add("baseline_ttl", "must be at least window (%s), got %s", c.Window, c.BaselineTTL)
	}
	if c.SessionTTL < time.Second {
		add("session_ttl", "must be at least 1s, got %s", c.SessionTTL)
	}
	a := c.Anomaly
	if a.VelocityRatio < 1 || a.VelocityRatio > 1000 {
		add("anomaly.velocity_ratio", "must be between 1 and 1000, got %v", a.VelocityRatio)
	}
	if a.VolumeRatio < 1 || a.VolumeRatio > 1000 {
		add("anomaly.volume_ratio", "must be between 1 and 1000, got %v", a.VolumeRatio)
	}
	if a.MinCalls < 1 {
		add("anomaly.min_calls", "must be positive, got %d", a.MinCalls)
	}
	if a.MinBytes < 1 {
		add("anomaly.min_bytes", "must be positive, got %d", a.MinBytes)
	}
	if a.NewResourceScore < 0 || a.NewResourceScore > 100 {
		add("anomaly.new_resource_score", "must be between 0 and 100, got %d", a.NewResourceScore)
	}
	if a.NewToolScore < 0 || a.NewToolScore > 100 {
		add("anomaly.new_tool_score", "must be between 0 and 100, got %d", a.NewToolScore)
	}
	for i, g := range c.EgressTools {
		if err := config.ValidGlob(g); err != nil {
			add(fmt.Sprintf("egress_tools[%d]", i), "%v", err)
		}
	}
	if len(c.SensitiveCategories) > 64 {
		add("sensitive_categories", "at most 64 categories, got %d", len(c.SensitiveCategories))
	}
	seen := map[string]bool{}
	for i, s := range c.SensitiveCategories {
		if s == "" {
			add(fmt.Sprintf("sensitive_categories[%d]", i), "empty category")
		} else if seen[s] {
			add(fmt.Sprintf("sensitive_categories[%d]", i), "duplicate category %q", s)
		}
		seen[s] = true
	}
	names := map[string]bool{}
	for i, s := range c.Sequences {
		p := fmt.Sprintf("sequences[%d]", i)
		if s.Name == "" {
			add(p+".name", "required")
		} else if names[s.Name] {
			add(p+".name", "duplicate sequence name %q", s.Name)
		}
		names[s.Name] = true
		for j, cat := range s.After {
			if !seen[cat] {
				add(fmt.Sprintf("%s.after[%d]", p, j), "category %q is not in sensitive_categories", cat)
			}
		}
		for j, g := range s.Then {
			if err := config.ValidGlob(g); err != nil {
				add(fmt.Sprintf("%s.then[%d]", p, j), "%v", err)
			}
		}
		if len(s.Then) == 0 && len(c.EgressTools) == 0 {
			add(p+".then", "empty and egress_tools is empty: the rule can never fire")
		}
		if s.Action != ActionBlock && s.Action != ActionRequireApproval {
			add(p+".action", "must be block or require_approval, got %q", s.Action)
		}
		if s.MinRecords < 0 {
			add(p+".min_records", "must not be negative, got %d", s.MinRecords)
		}
		if s.MinBytes < 0 {
			add(p+".min_bytes", "must not be negative, got %d", s.MinBytes)
		}
	}
	if v := c.Verbatim.Action; v != nil && *v != "" && *v != ActionBlock && *v != ActionRequireApproval {
		add("verbatim.action", "must be empty, block or require_approval, got %q", *v)
	}
	if c.Verbatim.Score < 0 || c.Verbatim.Score > 100 {
		add("verbatim.score", "must be between 0 and 100, got %d", c.Verbatim.Score)
	}
	for i, r := range c.RateLimits {
		p := fmt.Sprintf("rate_limits[%d]", i)
		if r.Scope != ScopeAgent && r.Scope != ScopeTool && r.Scope != ScopeServer {
			add(p+".scope", "must be agent, tool or server, got %q", r.Scope)
		}
		if r.Match != "" {
			if err := config.ValidGlob(r.Match); err != nil {
				add(p+".match", "%v", err)
			}
		}
		if r.Limit < 1 {
			add(p+".limit", "must be positive, got %d", r.Limit)
		}
		if r.Window < time.Second || r.Window > 24*time.Hour {
			add(p+".window", "must be between 1s and 24h, got %s", r.Window)
		}
		if r.Action != ActionBlock && r.Action != ActionRequireApproval {
			add(p+".action", "must be block or require_approval, got %q", r.Action)
		}
	}
	switch c.Pinning.Mode {
	case PinBlock, PinWarn, PinOff:
	default:
		add("pinning.mode", "must be block, warn or off, got %q", c.Pinning.Mode)
	}
	if c.Pinning.MaxToolsPerServer < 1 {
		add("pinning.max_tools_per_server", "must be positive, got %d", c.Pinning.MaxToolsPerServer)
	}
	for _, srv := range sortedKeys(c.Pinning.Pinned) {
		for _, tool := range sortedKeys(c.Pinning.Pinned[srv]) {
			h := c.Pinning.Pinned[srv][tool]
			if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
				add(fmt.Sprintf("pinning.pinned.%s.%s", srv, tool), "must be a SHA-256 hex digest (64 hex chars), got %q", h)
			}
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

type joined []error

func (j joined) Error() string {
	s := make([]string, len(j))
	for i, e := range j {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (j joined) Unwrap() []error { return j }

func joinErrs(errs []error) error { return joined(errs) }
