package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/extproc/benchharness"
	"github.com/portcullis-mcp/portcullis/gateway"
)

// BenchmarkToolCall measures one JSON tools/call (2 KB arguments, 4 KB
// result) through the processor over loopback gRPC, per configuration.
func BenchmarkToolCall(b *testing.B) {
	dir := b.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: portcullis.dev/v1
kind: ToolPolicy
metadata: {name: bench, version: "1"}
spec:
  anonymous: {id: anonymous, trust: medium}
  servers: [{name: bench, environment: dev, tools: [{name: search, risk: 10}]}]
  risk: {thresholds: [{name: low, min: 0, max: 100, action: allow}]}
`), 0o644); err != nil {
		b.Fatal(err)
	}
	base := "listen: {extproc: 127.0.0.1:0}\nservers:\n  - name: bench\n    url: http://127.0.0.1:1/mcp\n    tools: {allow: [\"search\"]}\n"
	for _, v := range []struct{ name, yaml string }{
		{"trust-plane", base + "detectors: {enabled: false}\n"},
		{"detectors", base},
		{"detectors+policy", base + "policy: {file: " + policy + "}\n"},
		{"detectors+policy+audit", base + fmt.Sprintf("policy: {file: %s}\naudit: {dir: %s}\n", policy, filepath.Join(dir, "audit"))},
	} {
		b.Run(v.name, func(b *testing.B) {
			cfg, err := config.Parse([]byte(v.yaml))
			if err != nil {
				b.Fatal(err)
			}
			gw, err := gateway.Start(context.Background(), cfg, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer gw.Close()
			conn, err := grpc.NewClient("passthrough:///"+gw.ExtProcAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			c := extprocv3.NewExternalProcessorClient(conn)
			sc := benchharness.ToolCall("bench", "search")[0]
			b.ReportAllocs()
			for b.Loop() {
				if err := benchharness.OneCall(context.Background(), c, &sc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
