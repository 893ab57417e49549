package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ListenerAuth authenticates the clients of a control listener: the admin
// HTTP listener, and the ext_proc and xDS gRPC listeners. A listener bound
// beyond loopback must have one (a bearer token or mTLS), or the gateway
// refuses to start.
type ListenerAuth struct {
	// TokenFile holds a bearer token (at least 16 characters) clients must
	// send: "Authorization: Bearer <token>" over HTTP, the same value in
	// the "authorization" gRPC metadata (Envoy: grpc_service.initial_metadata).
	TokenFile string `yaml:"token_file"`
	// TokenEnv names an environment variable holding the token instead.
	TokenEnv string `yaml:"token_env"`
	// TLS serves the listener over TLS; with client_ca_file every client
	// must present a certificate signed by that CA (mTLS).
	TLS *ListenerTLS `yaml:"tls"`
	// InsecureAllowUnauthenticated accepts a bind beyond loopback without
	// authentication, for a listener that only a trusted network boundary
	// can reach (a service mesh's mTLS, a NetworkPolicy). Logged as INSECURE
	// at start.
	InsecureAllowUnauthenticated bool `yaml:"insecure_allow_unauthenticated"`
}

// ListenerTLS is a server certificate and, for mTLS, the client CA.
type ListenerTLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// MinTokenLen is the shortest accepted bearer token.
const MinTokenLen = 16

// Authenticated reports whether clients must prove who they are.
func (a *ListenerAuth) Authenticated() bool {
	return a.TokenFile != "" || a.TokenEnv != "" || (a.TLS != nil && a.TLS.ClientCAFile != "")
}

// Token returns the configured bearer token ("" when none is configured).
func (a *ListenerAuth) Token() (string, error) {
	var tok string
	switch {
	case a.TokenFile != "":
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return "", fmt.Errorf("token_file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	case a.TokenEnv != "":
		tok = strings.TrimSpace(os.Getenv(a.TokenEnv))
		if tok == "" {
			return "", fmt.Errorf("token_env: environment variable %s is unset or empty", a.TokenEnv)
		}
	default:
		return "", nil
	}
	if len(tok) < MinTokenLen {
		return "", fmt.Errorf("token is shorter than %d characters", MinTokenLen)
	}
	return tok, nil
}

// ValidateControl reports the control-listener problems of Validate alone,
// for callers that build a Config in code and start it without Parse.
func (c *Config) ValidateControl() error {
	var errs []error
	c.validateControl(func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	})
	return errors.Join(errs...)
}

// validateControl checks the control listeners' authentication: every
// problem is reported with its field path.
func (c *Config) validateControl(add func(path, format string, args ...any)) {
	for _, l := range []struct {
		name, addr string
		auth       *ListenerAuth
	}{
		{"admin", c.Listen.Admin, &c.Listen.AdminAuth},
		{"extproc", c.Listen.ExtProc, &c.Listen.ExtProcAuth},
		{"xds", c.Listen.XDS, &c.Listen.XDSAuth},
	} {
		p := "listen." + l.name + "_auth"
		a := l.auth
		if a.TokenFile != "" && a.TokenEnv != "" {
			add(p, "set only one of token_file and token_env")
		} else if _, err := a.Token(); err != nil {
			add(p, "%v", err)
		}
		if t := a.TLS; t != nil {
			if t.CertFile == "" || t.KeyFile == "" {
				add(p+".tls", "cert_file and key_file are both required")
			}
			for _, f := range []struct{ key, path string }{{"cert_file", t.CertFile}, {"key_file", t.KeyFile}, {"client_ca_file", t.ClientCAFile}} {
				if f.path == "" {
					continue
				}
				if _, err := os.Stat(f.path); err != nil {
					add(p+".tls."+f.key, "%v", err)
				}
			}
		}
		if l.addr == "" || strings.HasPrefix(l.addr, "unix://") || isLoopback(l.addr) {
			continue // unix sockets are guarded by file permissions
		}
		if !a.Authenticated() && !a.InsecureAllowUnauthenticated {
			add("listen."+l.name, "binds %q beyond loopback without authentication: set %s.token_file (or token_env) for a bearer token, or %s.tls with client_ca_file for mTLS (or, only behind a network boundary that authenticates, %s.insecure_allow_unauthenticated: true)", l.addr, p, p, p)
		}
	}
}
