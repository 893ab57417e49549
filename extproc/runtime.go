package extproc

import (
	"github.com/portcullis-mcp/portcullis/config"
)

// Runtime is the immutable view of the configuration a stream works with.
type Runtime struct {
	Config  *config.Config
	servers map[string]*config.Server
}

// NewRuntime indexes a validated configuration.
func NewRuntime(c *config.Config) *Runtime {
	rt := &Runtime{Config: c, servers: make(map[string]*config.Server, len(c.Servers))}
	for i := range c.Servers {
		rt.servers[c.Servers[i].Name] = &c.Servers[i]
	}
	return rt
}

func (rt *Runtime) server(name string) *config.Server { return rt.servers[name] }
