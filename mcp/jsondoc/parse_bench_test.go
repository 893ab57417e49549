package jsondoc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/internal/cputime/cputimetest"
)

// benchResult is a tools/call result whose text is JSON (escaped quotes
// every few bytes), like portcullis-bench's 4 KB result.
func benchResult() []byte {
	var rows []string
	for i := 0; len(strings.Join(rows, ",")) < 3900; i++ {
		rows = append(rows, fmt.Sprintf(`{"id":%d,"title":"Quarterly report section %d","status":"published","owner":"team-%d"}`, i, i, i%7))
	}
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":%q}],"isError":false}}`, "["+strings.Join(rows, ",")+"]")
}

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name string
		src  []byte
	}{
		{"escaped-4KB", benchResult()},
		{"plain-2KB", fmt.Appendf(nil, `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search","arguments":{"query":%q,"limit":10}}}`, strings.Repeat("lorem ipsum dolor sit amet ", 80)[:2048])},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.src)))
			b.ReportAllocs()
			cputimetest.Loop(b, func() {
				if _, err := Parse(c.src, Options{MaxDepth: 64}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
