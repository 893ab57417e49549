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
	"strings"
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

// StartSentinel runs a Redis Sentinel on a free loopback port monitoring
// master (host:port) under name, and waits until it knows the master.
func StartSentinel(tb testing.TB, name, master string) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not installed")
	}
	dir := tb.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, port, _ := net.SplitHostPort(addr)
	mh, mp, _ := net.SplitHostPort(master)
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor %s %s %s 1\n", port, dir, filepath.Join(dir, "sentinel.log"), name, mh, mp)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	s := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
			tb.Fatalf("sentinel exited:\n%s", log)
		default:
		}
		if a, err := s.GetMasterAddrByName(context.Background(), name).Result(); err == nil && len(a) == 2 {
			return addr
		}
		time.Sleep(20 * time.Millisecond) // readiness polling only
	}
	log, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
	tb.Fatalf("sentinel did not become ready:\n%s", log)
	return ""
}

// StartCluster runs a Redis Cluster of n masters (no replicas) on loopback,
// the 16384 slots split evenly, and waits until every node reports
// cluster_state:ok. It returns the nodes' addresses.
func StartCluster(tb testing.TB, n int) []string {
	tb.Helper()
	ctx := context.Background()
	var addrs []string
	var clients []*redis.Client
	for range n {
		s := Start(tb, nil, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		addrs = append(addrs, s.Addr)
		clients = append(clients, s.Client())
	}
	per := 16384 / n
	for i, c := range clients {
		lo, hi := i*per, (i+1)*per-1
		if i == n-1 {
			hi = 16383
		}
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			// Redis before 7.0 has no ADDSLOTSRANGE.
			slots := make([]int, 0, hi-lo+1)
			for sl := lo; sl <= hi; sl++ {
				slots = append(slots, sl)
			}
			if err2 := c.ClusterAddSlots(ctx, slots...).Err(); err2 != nil {
				tb.Fatalf("cluster addslots on %s: %v (addslotsrange: %v)", addrs[i], err2, err)
			}
		}
	}
	for _, a := range addrs[1:] {
		h, p, _ := net.SplitHostPort(a)
		if err := clients[0].ClusterMeet(ctx, h, p).Err(); err != nil {
			tb.Fatalf("cluster meet %s: %v", a, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range clients {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("cluster not ready: %s %v", info, err)
			}
			time.Sleep(20 * time.Millisecond) // readiness polling only
		}
	}
	return addrs
}
