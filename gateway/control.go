package gateway

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portcullis-mcp/portcullis/config"
)

// grpcMsgCap is the largest gRPC message the ext_proc server and the
// embedded data plane's client accept or send: one buffered body (the data
// plane buffers up to twice limits.max_body_bytes) or one SSE event, plus
// room for headers and framing. It replaces the former 2 GiB.
func grpcMsgCap(cfg *config.Config) int {
	body := max(2*cfg.Limits.MaxBodyBytes, int64(cfg.Limits.MaxSSEEventBytes))
	return int(min(body+1<<20, 1<<31-1))
}

// serverTLS builds the TLS configuration of a control listener (nil when
// it has none). With a client CA, clients must present a certificate it
// signed.
func serverTLS(t *config.ListenerTLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.client_ca_file %s: no PEM certificate", t.ClientCAFile)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// tokenMatches compares a presented bearer credential in constant time.
func tokenMatches(want, header string) bool {
	got, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// grpcAuthOptions are the server options of a gRPC control listener: TLS
// credentials and a bearer-token check on every call, as configured.
func grpcAuthOptions(name string, a *config.ListenerAuth) ([]grpc.ServerOption, error) {
	var opts []grpc.ServerOption
	tc, err := serverTLS(a.TLS)
	if err != nil {
		return nil, fmt.Errorf("listen.%s_auth.%w", name, err)
	}
	if tc != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	tok, err := a.Token()
	if err != nil {
		return nil, fmt.Errorf("listen.%s_auth: %w", name, err)
	}
	if tok != "" {
		check := func(ctx context.Context) error {
			md, _ := metadata.FromIncomingContext(ctx)
			for _, v := range md.Get("authorization") {
				if tokenMatches(tok, v) {
					return nil
				}
			}
			return status.Error(codes.Unauthenticated, "portcullis "+name+": missing or wrong bearer token in the authorization metadata")
		}
		opts = append(opts,
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				if err := check(ctx); err != nil {
					return nil, err
				}
				return h(ctx, req)
			}),
			grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				if err := check(ss.Context()); err != nil {
					return err
				}
				return h(srv, ss)
			}))
	}
	return opts, nil
}

// adminGuard protects the admin listener. /healthz and /readyz stay open
// (they reveal nothing and probes cannot authenticate); everything else
// needs an acceptable Host (an IP literal, localhost, or one of
// listen.allowed_hosts: no DNS rebinding), no cross-origin browser request
// (Origin or Sec-Fetch-Site), and the bearer token when one is configured,
// except below the prefixes selfAuth reports (pages that authenticate their
// own users, such as an approvals console a browser opens).
func adminGuard(next http.Handler, allowedHosts func() []string, token string, selfAuth func(path string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		if !adminHostOK(r.Host, allowedHosts()) {
			http.Error(w, "forbidden: Host "+truncate(r.Host, 64)+" is not an address of this admin listener (add it to listen.allowed_hosts)", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || !strings.EqualFold(u.Host, r.Host) {
				http.Error(w, "forbidden: cross-origin request to the admin listener", http.StatusForbidden)
				return
			}
		}
		if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
			http.Error(w, "forbidden: cross-site request to the admin listener", http.StatusForbidden)
			return
		}
		// Discovery metadata under /.well-known/ is public by definition.
		public := strings.HasPrefix(r.URL.Path, "/.well-known/")
		if token != "" && !public && !selfAuth(r.URL.Path) && !tokenMatches(token, r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis-admin"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <listen.admin_auth token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func adminHostOK(hostport string, allowed []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
