// Command web is the example "web" MCP server used by the Portcullis
// quickstart: fetch returns offline fixture pages for a few example.com URLs
// (one carries a hidden prompt injection) and crawl streams progress
// notifications. Served over MCP Streamable HTTP at http://ADDR/mcp.
//
//	web -addr 127.0.0.1:3002
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/portcullis-mcp/portcullis/examples/internal/exserve"
	"github.com/portcullis-mcp/portcullis/examples/web/webmcp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("web", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:3002", "listen address")
	instance := fl.String("instance", "", "instance name reported in crawl results (e.g. sandbox)")
	stateless := fl.Bool("stateless", false, "ignore Mcp-Session-Id (lets the instance serve as a sandbox upstream)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	return exserve.Serve(ctx, *addr, "web", webmcp.HandlerInstance(*instance, *stateless), stderr)
}
