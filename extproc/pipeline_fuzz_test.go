package extproc

import (
	"context"
	"encoding/json"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// FuzzPipeline drives arbitrary request and response bodies through one
// stream (no gRPC, fake engines). Invariants: the handler never panics or
// fails, every message gets a reply, and any body the gateway writes itself
// (refusal or rewrite) is valid JSON.
func FuzzPipeline(f *testing.F) {
	for _, seed := range [][3]string{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"pii:bob"}}}`, "application/json", `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"INJECT"},{"type":"text","text":"pii:carol"}]}}`},
		{`{"jsonrpc":"2.0","id":"a","method":"prompts/get","params":{"name":"p","arguments":{"x":"SECRET"}}}`, "application/json", `{"jsonrpc":"2.0","id":"a","result":{}}`},
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}]`, "application/json", `{}`},
		{`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, "application/json", `{"jsonrpc":"2.0","id":2,"result":{"tools":{"x":1}}}`},
		{`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_file"}}`, "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"INJECT\"}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1,\"message\":\"x\",\"data\":{\"content\":[]}}}\n\n"},
		{`{"jsonrpc":"2.0","id":4,"result":{"content":{"text":"SECRET"}}}`, "application/json", ``},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, reqBody, ct, respBody string) {
		st := h.srv.newStream(context.Background())
		defer st.finish()
		msgs := []*extprocv3.ProcessingRequest{reqHeadersMsg("mcp-session-id", "s"), reqBodyMsg(reqBody), respHeadersMsg(ct), respBodyMsg(respBody, true)}
		for _, m := range msgs {
			r, err := st.handle(m)
			if err != nil {
				if st.sse {
					return // an SSE event that cannot be inspected resets the stream
				}
				t.Fatalf("handle: %v", err)
			}
			if r == nil {
				t.Fatal("no reply")
			}
			if b := bodyOf(r); b != "" && !st.sse && !json.Valid([]byte(b)) {
				t.Fatalf("gateway wrote invalid JSON: %q", b)
			}
			if st.finished {
				return
			}
		}
	})
}
