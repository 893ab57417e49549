package approval_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/portcullis-mcp/portcullis/approval"
)

var benchArgs = []byte(`{"path":"reports/q3/summary.txt","content":"Quarterly summary: revenue up 4%, churn down 1.2%. Owners: finance, sales.","overwrite":true,"mode":420,"tags":["q3","finance","summary"]}`)

// BenchmarkDigest compares the canonical digest that binds a grant with the
// baseline the audit log uses for arguments (sha256 over the raw bytes).
func BenchmarkDigest(b *testing.B) {
	b.Run("baseline-sha256-raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = sha256.Sum256(benchArgs)
		}
	})
	b.Run("canonical", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := approval.CanonicalDigest(benchArgs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheck measures the require_approval path: a retry of a pending
// call (the common case while a person decides) and a new request.
func BenchmarkCheck(b *testing.B) {
	cfg := approval.Config{}
	cfg.ApplyDefaults()
	ctx := context.Background()
	b.Run("pending-retry", func(b *testing.B) {
		s, _ := approval.New(cfg, approval.NewMemoryStore(0))
		defer s.Close()
		bind := approval.Binding{Principal: "agent", Server: "files", Method: "tools/call", Tool: "write_file", Arguments: benchArgs, PolicyVersion: "v1"}
		if _, err := s.Check(ctx, bind); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if r, err := s.Check(ctx, bind); err != nil || r.Status != approval.StatusPending {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("new-request", func(b *testing.B) {
		s, _ := approval.New(cfg, approval.NewMemoryStore(1<<20))
		defer s.Close()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			bind := approval.Binding{Principal: fmt.Sprint("agent-", i), Server: "files", Method: "tools/call", Tool: "write_file", Arguments: benchArgs, PolicyVersion: "v1"}
			if _, err := s.Check(ctx, bind); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func FuzzOpenState(f *testing.F) {
	s, _ := approval.NewSealer(approval.SealKey{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")})
	now := time.Unix(1000, 0)
	good := s.Seal(approval.State{ID: "apr_x", Key: "k", Nonce: "n", Exp: 2000})
	for _, seed := range []string{good, good[:len(good)-1], "pcap1.", "pcap1.k1..", "pcap1.k1.e30.", "pcap1.zz.e30.AAAA", "", "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		st, err := s.Open(v, now)
		// An accepted state must be exactly one this sealer produces.
		if err == nil && s.Seal(st) != v {
			t.Fatalf("accepted a state it did not seal: %q", v)
		}
	})
}
