package benchtmp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/mcp"
	old "github.com/portcullis-mcp/portcullis/oldmcptmp"
)

func docs() map[string][]byte {
	var tools []string
	for i := 0; i < 50; i++ {
		tools = append(tools, fmt.Sprintf(`{"name":"tool_%d","description":"Does thing %d with the given input and returns a summary.","inputSchema":{"type":"object","properties":{"path":{"type":"string"},"limit":{"type":"integer"}},"required":["path"]},"annotations":{"readOnlyHint":true}}`, i, i))
	}
	var blocks []string
	for i := 0; i < 20; i++ {
		blocks = append(blocks, `{"type":"text","text":"`+strings.Repeat("lorem ipsum dolor ", 10)+`"}`)
	}
	return map[string][]byte{
		"tools_list": []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[` + strings.Join(tools, ",") + `]}}`),
		"call":       []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/tmp/a","opts":{"a":1,"b":[1,2,3]}},"_meta":{"progressToken":"p"}}}`),
		"result":     []byte(`{"jsonrpc":"2.0","id":3,"result":{"content":[` + strings.Join(blocks, ",") + `]}}`),
	}
}

func BenchmarkValidate(b *testing.B) {
	for name, d := range docs() {
		b.Run(name+"/before", func(b *testing.B) {
			b.SetBytes(int64(len(d)))
			for i := 0; i < b.N; i++ {
				if err := old.ValidateJSON(d, 64); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/after", func(b *testing.B) {
			b.SetBytes(int64(len(d)))
			for i := 0; i < b.N; i++ {
				if err := mcp.ValidateJSON(d, 64); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
