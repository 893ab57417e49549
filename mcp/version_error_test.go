package mcp

import "testing"

func TestUnsupportedVersionCode(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"2026-07-28 request declares its revision in _meta", `{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999"}}}`, CodeUnsupportedProtocolVersion},
		{"session-era request", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, CodeInvalidRequest},
		{"other _meta keys only", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"progressToken":1}}}`, CodeInvalidRequest},
		{"invalid JSON", `{"jsonrpc":`, CodeInvalidRequest},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, CodeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnsupportedVersionCode([]byte(tc.body)); got != tc.want {
				t.Fatalf("UnsupportedVersionCode(%s) = %d, want %d", tc.body, got, tc.want)
			}
		})
	}
}
