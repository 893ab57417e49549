// Command files is the example "files" MCP server used by the Portcullis
// quickstart: list_dir, read_file, write_file and delete_file over a sandbox
// folder, served over MCP Streamable HTTP at http://ADDR/mcp.
//
//	files -addr 127.0.0.1:3001 -root examples/files/sandbox
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/portcullis-mcp/portcullis/examples/files/filesmcp"
	"github.com/portcullis-mcp/portcullis/examples/internal/exserve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "files:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("files", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "127.0.0.1:3001", "listen address")
	root := fl.String("root", "examples/files/sandbox", "sandbox directory served by the tools")
	if err := fl.Parse(args); err != nil {
		return err
	}
	h, closeRoot, err := filesmcp.Handler(*root)
	if err != nil {
		return err
	}
	defer closeRoot()
	return exserve.Serve(ctx, *addr, "files", h, stderr)
}
