package exserve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Serve listens on addr, prints "<name> MCP server on http://ADDR/mcp" to
// logw once listening, serves h until ctx is done and then shuts down within
// two seconds. It returns nil after a clean shutdown.
func Serve(ctx context.Context, addr, name string, h http.Handler, logw io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", name, err)
	}
	return ServeListener(ctx, ln, name, h, logw)
}

// ServeListener is Serve on an existing listener (tests pass 127.0.0.1:0).
func ServeListener(ctx context.Context, ln net.Listener, name string, h http.Handler, logw io.Writer) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(logw, "%s MCP server on http://%s/mcp\n", name, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: serve: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: serve: %w", name, err)
	}
	return nil
}
