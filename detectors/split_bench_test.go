package detectors

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis-mcp/portcullis/internal/cputime/cputimetest"
)

// shortFieldsDoc is a tools/call of about size bytes whose arguments are
// records of short fields (ids, codes, amounts, dates): the worst case for
// the split-value join, which joins runs of short sibling leaves.
func shortFieldsDoc(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"import_orders","arguments":{"orders":[`)
	for i := 0; b.Len() < size-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%d","sku":"AB-%04d","qty":"%d","price":"%d.%02d","date":"2024-03-%02d","codes":["%d","%d","%d"]}`,
			1000+i, i*7%10000, i%9+1, i*13%500, i%100, i%28+1, i*31%1000, i*17%1000, i*3%100)
	}
	b.WriteString(`]}}}`)
	return []byte(b.String())
}

// BenchmarkScanShortFields: ScanJSON of 4 KB of short fields (compare with
// BenchmarkPipeline/scan_json/4KB, mostly prose).
func BenchmarkScanShortFields(b *testing.B) {
	e, err := NewEngine(Options{})
	if err != nil {
		b.Fatal(err)
	}
	doc := shortFieldsDoc(4 << 10)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	cputimetest.Loop(b, func() {
		if _, err := e.ScanJSON(doc); err != nil {
			b.Fatal(err)
		}
	})
}
