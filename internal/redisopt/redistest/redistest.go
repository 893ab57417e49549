// Package redistest runs a private redis-server on loopback for tests: it
// skips when the binary is missing unless PORTCULLIS_REQUIRE_REDIS=1 (CI),
// and can stop and restart the server on the same port for fault tests.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process owned by a test.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	args []string
	Addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs redis-server with extra arguments (e.g. "--requirepass", "x")
// on a free loopback port and waits until it answers PING (with the
// password in auth, if given). The server stops at the end of the test.
func Start(tb testing.TB, auth *redis.Options, args ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("PORTCULLIS_REQUIRE_REDIS") == "1" {
			tb.Fatalf("redis-server not found and PORTCULLIS_REQUIRE_REDIS=1: %v", err)
		}
		tb.Skip("redis-server not installed (apt-get install redis-server); skipping")
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), args: args}
	tb.Cleanup(s.Stop)
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		s.Addr = l.Addr().String()
		_ = l.Close()
		if err := s.start(auth); err == nil {
			return s
		} else if attempt == 2 {
			tb.Fatal(err)
		}
	}
}

func (s *Server) start(auth *redis.Options) error {
	_, port, _ := net.SplitHostPort(s.Addr)
	portArgs := []string{"--port", port}
	for _, a := range s.args {
		if a == "--tls-cert-file" { // TLS only: the plain port is closed
			portArgs = []string{"--port", "0", "--tls-port", port}
		}
	}
	args := append(append(portArgs, "--bind", "127.0.0.1", "--dir", s.dir, "--save", "", "--appendonly", "no",
		"--protected-mode", "yes", "--logfile", filepath.Join(s.dir, "redis.log")), s.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	o := &redis.Options{Addr: s.Addr, DialTimeout: time.Second, MaxRetries: -1}
	if auth != nil {
		o.Username, o.Password, o.TLSConfig = auth.Username, auth.Password, auth.TLSConfig
	}
	c := redis.NewClient(o)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server exited on %s:\n%s", s.Addr, log)
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond) // polling readiness, not ordering events
	}
	s.Stop()
	log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return fmt.Errorf("redis-server did not become ready on %s:\n%s", s.Addr, log)
}

// Stop kills the server and waits for it to exit (idempotent).
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Restart starts the server again on the same port (data is not kept).
func (s *Server) Restart(auth *redis.Options) {
	s.tb.Helper()
	s.Stop()
	if err := s.start(auth); err != nil {
		s.tb.Fatal(err)
	}
}

// Client returns a client for the server, closed at the end of the test.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: time.Second})
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}
