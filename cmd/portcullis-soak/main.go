// Command portcullis-soak drives a long run of tool calls through
// `portcullis serve` and fails if the gateway's memory, goroutines or open
// files grow past stated bounds after warm-up (`make soak`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/portcullis-mcp/portcullis/internal/soak"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := soak.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "portcullis-soak:", err)
		os.Exit(1)
	}
}
