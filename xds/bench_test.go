package xds_test

import (
	"fmt"
	"testing"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/xds"
)

func manyServers(n int) *config.Config {
	cfg := &config.Config{}
	for i := range n {
		s := config.Server{Name: fmt.Sprintf("s%d", i), URL: fmt.Sprintf("https://mcp%d.example.com/mcp", i)}
		if i%4 == 0 {
			s.Sandbox = fmt.Sprintf("http://10.0.0.%d:8080/mcp", i%250+1)
		}
		cfg.Servers = append(cfg.Servers, s)
	}
	cfg.ApplyDefaults()
	return cfg
}

// BenchmarkUpdate measures a full reload (render, deep validation, hash,
// consistency, SetSnapshot) for the 2-server quickstart (the baseline) and a
// 200-server policy, side by side.
func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{2, 200} {
		cfg := manyServers(n)
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			srv := xds.New(xds.Options{}, nil)
			b.ReportAllocs()
			for b.Loop() {
				if err := srv.Update(cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
