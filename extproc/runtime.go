package extproc

import (
	"net"
	"net/url"
	"strings"

	"github.com/portcullis-mcp/portcullis/config"
)

// Runtime is the immutable view of the configuration a stream works with.
type Runtime struct {
	Config  *config.Config
	servers map[string]*config.Server
	hosts   map[string]bool // nil: no Host/Origin check
}

// NewRuntime indexes a validated configuration.
func NewRuntime(c *config.Config) *Runtime {
	rt := &Runtime{Config: c, servers: make(map[string]*config.Server, len(c.Servers))}
	for i := range c.Servers {
		rt.servers[c.Servers[i].Name] = &c.Servers[i]
	}
	if len(c.Listen.AllowedHosts) > 0 {
		rt.hosts = make(map[string]bool, len(c.Listen.AllowedHosts))
		for _, h := range c.Listen.AllowedHosts {
			rt.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
		}
	}
	return rt
}

func (rt *Runtime) server(name string) *config.Server { return rt.servers[name] }

// hostAllowed checks a Host/:authority value ("name[:port]") against the
// allowed hosts.
func (rt *Runtime) hostAllowed(authority string) bool {
	if rt.hosts == nil {
		return true
	}
	h := authority
	if host, _, err := net.SplitHostPort(authority); err == nil {
		h = host
	}
	return rt.hosts[strings.ToLower(strings.Trim(h, "[]"))]
}

// originAllowed checks an Origin header ("scheme://host[:port]"); "null" and
// unparsable origins are refused when a check is configured.
func (rt *Runtime) originAllowed(origin string) bool {
	if rt.hosts == nil || origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return rt.hostAllowed(u.Host)
}
