package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/approval"
	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/audit/decisionlog"
)

// Config is the gateway configuration file (portcullis.yaml). Sections owned
// by other packages (audit) embed those packages' own config types.
type Config struct {
	Listen    Listen    `yaml:"listen"`
	Limits    Limits    `yaml:"limits"`
	Servers   []Server  `yaml:"servers"`
	Identity  Identity  `yaml:"identity"`
	Policy    PolicyRef `yaml:"policy"`
	Detectors Detectors `yaml:"detectors"`
	XDS       XDS       `yaml:"xds"`
	Telemetry Telemetry `yaml:"telemetry"`
	// Behavior is the behaviour engine's state store.
	Behavior BehaviorStore `yaml:"behavior"`
	Audit    audit.Config  `yaml:"audit"`
	// Log selects the decision log (config/observe.go).
	Log decisionlog.Config `yaml:"log"`
	// Approvals is human approval of require_approval calls (package approval).
	Approvals approval.Config `yaml:"approvals"`
	// State is shared state for several replicas (config/state.go).
	State State `yaml:"state"`
}

// Listen holds the listener addresses. An empty address disables that listener
// (the ext_proc listener is always required).
type Listen struct {
	// Proxy is the embedded Envoy-compatible data plane (HTTP).
	Proxy string `yaml:"proxy"`
	// ExtProc is the ext_proc gRPC listener, "host:port" or "unix:///path".
	ExtProc string `yaml:"extproc"`
	// Admin serves /healthz, /readyz and /metrics.
	Admin string `yaml:"admin"`
	// XDS is the ADS server for Envoy.
	XDS string `yaml:"xds"`
	// AllowedHosts are the host names (without port) clients may use to
	// reach the gateway; a request whose Host/:authority or Origin names
	// another host is refused with 403 (DNS-rebinding protection). Default:
	// localhost, 127.0.0.1 and ::1 when listen.proxy is a loopback address,
	// otherwise empty (no check; put the names your clients use here).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AdminAuth, ExtProcAuth and XDSAuth authenticate the control
	// listeners; required when the listener binds beyond loopback.
	AdminAuth   ListenerAuth `yaml:"admin_auth"`
	ExtProcAuth ListenerAuth `yaml:"extproc_auth"`
	XDSAuth     ListenerAuth `yaml:"xds_auth"`
}

// Limits bound what a single message may cost.
type Limits struct {
	// MaxBodyBytes is the largest JSON-RPC request body accepted (default
	// 4 MiB); larger requests get 413 with a JSON-RPC error. Keep Envoy's
	// per_connection_buffer_limit_bytes at about twice this value.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxDepth is the deepest JSON nesting accepted in a JSON-RPC message.
	MaxDepth int `yaml:"max_depth"`
	// MaxSSEEventBytes bounds one SSE event held for inspection.
	MaxSSEEventBytes int `yaml:"max_sse_event_bytes"`
	// MessageTimeout is the embedded data plane's ext_proc message_timeout.
	MessageTimeout time.Duration `yaml:"message_timeout"`
	// MaxInflightBytes caps the request bytes the embedded data plane holds
	// at once, across all requests (default 64 MiB). A request that would
	// pass it is answered 503 with a JSON-RPC error before it is read, so
	// a burst of large bodies cannot exhaust memory. A request without a
	// Content-Length counts as max_body_bytes.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
}

// Server is one allow-listed upstream MCP server.
type Server struct {
	Name string `yaml:"name"`
	// URL is the upstream MCP endpoint (http or https).
	URL string `yaml:"url"`
	// Sandbox is an optional upstream that sandboxed calls are re-routed to.
	Sandbox string    `yaml:"sandbox"`
	Tools   ToolRules `yaml:"tools"`
	// UpstreamAuth is the credential sent upstream (config/authz.go); the
	// client's token is never forwarded unless forward_client_token is set.
	UpstreamAuth *UpstreamAuth `yaml:"upstream_auth"`
	// Scopes are OAuth scopes every request to this server needs, and
	// ToolScopes the extra scopes per tool name or glob (identity.oauth).
	Scopes     []string            `yaml:"scopes"`
	ToolScopes map[string][]string `yaml:"tool_scopes"`
}

// ToolRules is a server's tool allow/deny list. Entries are exact names or
// globs (* matches any run of characters, ? one character). Deny wins.
type ToolRules struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// Defaults, applied explicitly by ApplyDefaults.
const (
	DefaultMaxBodyBytes     = 4 << 20
	DefaultMaxInflightBytes = 64 << 20
	DefaultMaxDepth         = 64
	DefaultMaxSSEEventBytes = 4 << 20
	DefaultMessageTimeout   = 5 * time.Second
	DefaultExtProcAddr      = "127.0.0.1:50051"
)

// Load reads, strictly decodes, defaults and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes, defaults and validates config bytes. Decoding problems
// (unknown keys, wrong types) and validation problems are reported together,
// in one pass.
func Parse(data []byte) (*Config, error) {
	var c Config
	problems, err := DecodeStrictPartial(data, &c)
	if err != nil {
		return nil, err
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return &c, nil
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	c.State.applyDefaults()
	if c.Listen.ExtProc == "" {
		c.Listen.ExtProc = DefaultExtProcAddr
	}
	if c.Listen.AllowedHosts == nil && isLoopback(c.Listen.Proxy) {
		c.Listen.AllowedHosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Limits.MaxInflightBytes == 0 {
		c.Limits.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.Limits.MaxDepth == 0 {
		c.Limits.MaxDepth = DefaultMaxDepth
	}
	if c.Limits.MaxSSEEventBytes == 0 {
		c.Limits.MaxSSEEventBytes = DefaultMaxSSEEventBytes
	}
	if c.Limits.MessageTimeout == 0 {
		c.Limits.MessageTimeout = DefaultMessageTimeout
	}
	for i := range c.Servers {
		if c.Servers[i].Tools.Allow == nil && c.Servers[i].Tools.Deny == nil {
			// An unlisted tool set means nothing is allowed: fail closed.
			c.Servers[i].Tools.Allow = []string{}
		}
	}
	c.Detectors.applyDefaults()
	c.Policy.applyDefaults()
	c.Audit.ApplyDefaults()
	c.Approvals.ApplyDefaults()
}

var serverNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Validate reports every problem in the config, each with its field path.
func (c *Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	checkAddr := func(path, addr string, required bool) {
		if addr == "" {
			if required {
				add(path, "is required")
			}
			return
		}
		if after, ok := strings.CutPrefix(addr, "unix://"); ok {
			if after == "" {
				add(path, "unix socket path is empty")
			}
			return
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			add(path, "invalid address %q: want host:port or unix:///path", addr)
		}
	}
	checkAddr("listen.proxy", c.Listen.Proxy, false)
	checkAddr("listen.extproc", c.Listen.ExtProc, true)
	checkAddr("listen.admin", c.Listen.Admin, false)
	checkAddr("listen.xds", c.Listen.XDS, false)
	if c.Limits.MaxInflightBytes < c.Limits.MaxBodyBytes {
		add("limits.max_inflight_bytes", "must be at least limits.max_body_bytes (%d), got %d", c.Limits.MaxBodyBytes, c.Limits.MaxInflightBytes)
	}
	if c.Limits.MaxBodyBytes < 1024 {
		add("limits.max_body_bytes", "must be at least 1024, got %d", c.Limits.MaxBodyBytes)
	}
	if c.Limits.MaxDepth < 2 || c.Limits.MaxDepth > 10000 {
		add("limits.max_depth", "must be between 2 and 10000, got %d", c.Limits.MaxDepth)
	}
	if c.Limits.MaxSSEEventBytes < 1024 {
		add("limits.max_sse_event_bytes", "must be at least 1024, got %d", c.Limits.MaxSSEEventBytes)
	}
	if c.Limits.MessageTimeout < time.Millisecond {
		add("limits.message_timeout", "must be at least 1ms, got %s", c.Limits.MessageTimeout)
	}
	seen := map[string]int{}
	for i, s := range c.Servers {
		p := fmt.Sprintf("servers[%d]", i)
		if !serverNameRE.MatchString(s.Name) {
			add(p+".name", "%q must match %s", s.Name, serverNameRE)
		} else if j, dup := seen[s.Name]; dup {
			add(p+".name", "%q duplicates servers[%d].name", s.Name, j)
		} else {
			seen[s.Name] = i
		}
		if err := checkUpstreamURL(s.URL); err != nil {
			add(p+".url", "%v", err)
		}
		if s.Sandbox != "" {
			if err := checkUpstreamURL(s.Sandbox); err != nil {
				add(p+".sandbox", "%v", err)
			}
		}
		for j, g := range s.Tools.Allow {
			if err := ValidGlob(g); err != nil {
				add(fmt.Sprintf("%s.tools.allow[%d]", p, j), "%v", err)
			}
		}
		for j, g := range s.Tools.Deny {
			if err := ValidGlob(g); err != nil {
				add(fmt.Sprintf("%s.tools.deny[%d]", p, j), "%v", err)
			}
		}
	}
	c.validateSecurity(add)
	c.validateAuthz(add)
	c.validateControl(add)
	if err := c.Audit.Validate(); err != nil {
		errs = append(errs, prefixErrors("audit", err)...)
	}
	c.validateObserve(add)
	if err := c.Approvals.Validate(); err != nil {
		errs = append(errs, prefixErrors("approvals", err)...)
	}
	if c.Approvals.Hold > 0 && c.Approvals.Hold >= c.Limits.MessageTimeout {
		add("approvals.hold", "must be shorter than limits.message_timeout (%s), got %s", c.Limits.MessageTimeout, c.Approvals.Hold)
	}
	c.validateState(add)
	return errors.Join(errs...)
}

// isLoopback reports whether a listen address binds only loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server returns the allow-listed server with this name.
func (c *Config) Server(name string) (*Server, bool) {
	for i := range c.Servers {
		if c.Servers[i].Name == name {
			return &c.Servers[i], true
		}
	}
	return nil, false
}

func checkUpstreamURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: missing host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("invalid URL %q: credentials in URLs are not allowed", raw)
	}
	return nil
}

// prefixErrors splits a joined error and prefixes each part with a path.
func prefixErrors(prefix string, err error) []error {
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fmt.Errorf("%s.%w", prefix, e))
		}
		return out
	}
	return []error{fmt.Errorf("%s.%w", prefix, err)}
}
