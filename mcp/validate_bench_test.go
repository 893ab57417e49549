package mcp

import (
	"strings"
	"testing"
)

// BenchmarkValidateJSON measures the validator on a typical tools/call.
func BenchmarkValidateJSON(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/workspace/src/main.go","encoding":"utf-8","limit":4096,"options":{"follow":false,"tags":["a","b","c"]},"note":"` + strings.Repeat("lorem ipsum ", 40) + `"},"_meta":{"progressToken":7}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateJSON(body, 64); err != nil {
			b.Fatal(err)
		}
	}
}
