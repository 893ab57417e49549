package extproc

import (
	"testing"
)

// TestSSEHeldChunkCleared: a chunk that completes no event is cleared with
// no other mutation (the shared holdResponseChunk reply), and the event is
// forwarded whole, unchanged, by the chunk that completes it; a second
// exchange on the same server gets the same answers (the shared reply is
// never modified).
func TestSSEHeldChunkCleared(t *testing.T) {
	c, _ := testServer(t)
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	ev := "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
	for round := 0; round < 2; round++ {
		rs := converse(t, c, reqHeadersMsg(), reqBodyMsg(ping), respHeadersMsg("text/event-stream"),
			respBodyMsg(ev[:10], false), respBodyMsg(ev[10:30], false), respBodyMsg(ev[30:], true))
		if len(rs) != 6 {
			t.Fatalf("round %d: %d replies", round, len(rs))
		}
		for i := 3; i <= 4; i++ {
			r := rs[i].GetResponseBody().GetResponse()
			if !r.GetBodyMutation().GetClearBody() || r.GetHeaderMutation() != nil || r.GetStatus() != 0 {
				t.Fatalf("round %d: held chunk %d: reply %v, want a cleared body and nothing else", round, i-3, r)
			}
		}
		if got := string(rs[5].GetResponseBody().GetResponse().GetBodyMutation().GetBody()); got != ev {
			t.Fatalf("round %d: completing chunk forwarded %q, want the whole event %q", round, got, ev)
		}
	}
}
