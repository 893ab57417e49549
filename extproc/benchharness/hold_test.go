package benchharness

import (
	"bytes"
	"testing"
)

// TestHoldProcessorReplaysSplitEvent checks the floor processor does what
// it stands for: STREAMED for SSE, the first half held (cleared), the whole
// event re-sent with the second; a JSON result passes untouched.
func TestHoldProcessorReplaysSplitEvent(t *testing.T) {
	for _, sc := range ToolCall("bench", "search") {
		h := &holdStream{}
		var replies [][]byte // body mutation per response-body message; nil = none
		cleared := 0
		for _, m := range Messages(&sc) {
			resp, done, err := h.Handle(m)
			if err != nil || done || resp == nil {
				t.Fatalf("%s: Handle = %v, %v, %v", sc.Name, resp, done, err)
			}
			if m.GetResponseHeaders() != nil {
				got := resp.GetModeOverride().GetResponseBodyMode().String()
				want := "NONE"
				if len(sc.ResponseBody) > 1 {
					want = "STREAMED"
				}
				if got != want {
					t.Errorf("%s: response body mode %s, want %s", sc.Name, got, want)
				}
			}
			if m.GetResponseBody() != nil {
				bm := resp.GetResponseBody().GetResponse().GetBodyMutation()
				if bm.GetClearBody() {
					cleared++
				}
				replies = append(replies, bm.GetBody())
			}
		}
		if len(sc.ResponseBody) == 1 {
			if cleared != 0 || replies[0] != nil {
				t.Errorf("%s: JSON body mutated", sc.Name)
			}
			continue
		}
		whole := bytes.Join(sc.ResponseBody, nil)
		if cleared != 1 || !bytes.Equal(replies[1], whole) {
			t.Errorf("%s: cleared %d chunks, last reply %d bytes; want 1 cleared and the whole %d-byte event", sc.Name, cleared, len(replies[1]), len(whole))
		}
	}
}
