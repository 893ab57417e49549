package extproc

import (
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/internal/scriptstream"
)

// BenchmarkProcessToolCall: one tools/call exchange (2 KB arguments, 4 KB
// result) through Server.Process with no engines (the trust plane), against
// the null Processor in the same loop (baseline).
func BenchmarkProcessToolCall(b *testing.B) {
	cfg, err := config.Parse([]byte(testConfig + "\n"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Limits.MaxBodyBytes = 1 << 20
	arg := make([]byte, 2048)
	for i := range arg {
		arg[i] = 'a' + byte(i%26)
	}
	text := make([]byte, 4096)
	for i := range text {
		text[i] = 'a' + byte(i%26)
	}
	req := `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"read_file","arguments":{"query":"` + string(arg) + `","limit":10}}}`
	res := `{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"` + string(text) + `"}]}}`
	script := []*extprocv3.ProcessingRequest{reqHeadersMsg(), reqBodyMsg(req), respHeadersMsg("application/json"), respBodyMsg(res, true)}
	b.Run("null", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Serve(scriptstream.New(script), NullProcessor{}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("trust-plane", func(b *testing.B) {
		srv := NewServer(cfg)
		b.ReportAllocs()
		for b.Loop() {
			if err := srv.Process(scriptstream.New(script)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
