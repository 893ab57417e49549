// Package redistest starts a private redis-server for tests.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// StartServer runs a private redis-server on loopback for the test and
// returns its address. It skips without redis-server unless
// PORTCULLIS_REQUIRE_REDIS=1.
func StartServer(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("PORTCULLIS_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server not found and PORTCULLIS_REQUIRE_REDIS=1: %v", err)
		}
		tb.Skip("redis-server not installed (apt-get install redis-server); skipping")
	}
	dir := tb.TempDir()
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(tb, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.NoError(tb, l.Close())
		cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--protected-mode", "yes", "--logfile", filepath.Join(dir, "redis.log"))
		require.NoError(tb, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		tb.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			if c.Ping(context.Background()).Err() == nil {
				_ = c.Close()
				return addr
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = c.Close()
		log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
		if attempt == 2 {
			tb.Fatalf("redis-server did not become ready on port %d:\n%s", port, log)
		}
	}
}
