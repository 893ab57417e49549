// Command client is the quickstart's MCP host stand-in: it uses the official
// Go SDK client to talk to the example servers THROUGH Portcullis and prints a
// short report — the filtered tool list, one allowed call (read_file), one
// blocked call (delete_file, with the gateway's JSON-RPC error message and
// data) and a fetch of the page that carries a prompt injection.
//
//	client -gateway http://127.0.0.1:10000
//
// It exits non-zero when the allowed call fails or the disallowed call is not
// refused, so `make run` (RUN_ONCE=1) doubles as a smoke test.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("client", flag.ContinueOnError)
	fl.SetOutput(stderr)
	gateway := fl.String("gateway", "http://127.0.0.1:10000", "Portcullis proxy base URL; servers are reached at <gateway>/mcp/<name>")
	timeout := fl.Duration("timeout", 30*time.Second, "overall deadline")
	if err := fl.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return demo(ctx, *gateway, stdout)
}
