package mcp

import (
	"bytes"
	"strings"
	"testing"
)

var sseStream = "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n" +
	"id: 2\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":1,\"result\":{}}\r\n\r\n" +
	": comment\n\n" +
	"id: 3\ndata:\n\n"

func TestSSEParserAllSplits(t *testing.T) {
	want := []struct{ id, data string }{
		{"1", `{"jsonrpc":"2.0","method":"notifications/progress"}`},
		{"2", "{\"jsonrpc\":\"2.0\",\n\"id\":1,\"result\":{}}"},
		{"", ""},
		{"3", ""},
	}
	// Every split point, and byte-at-a-time, must give the same events.
	for split := 0; split <= len(sseStream); split++ {
		var p SSEParser
		var got []SSEEvent
		for _, chunk := range []string{sseStream[:split], sseStream[split:]} {
			evs, err := p.Feed([]byte(chunk))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, evs...)
		}
		if len(got) != len(want) {
			t.Fatalf("split %d: %d events, want %d", split, len(got), len(want))
		}
		var raw []byte
		for i, w := range want {
			if got[i].ID != w.id || string(got[i].Data) != w.data {
				t.Fatalf("split %d event %d: id %q data %q", split, i, got[i].ID, got[i].Data)
			}
			raw = append(raw, got[i].Raw...)
		}
		if string(raw) != sseStream || len(p.Pending()) != 0 {
			t.Fatalf("split %d: raw bytes not preserved", split)
		}
	}
	var p SSEParser
	n := 0
	for i := 0; i < len(sseStream); i++ {
		evs, _ := p.Feed([]byte{sseStream[i]})
		n += len(evs)
	}
	if n != len(want) {
		t.Fatalf("byte-at-a-time: %d events", n)
	}
}

func TestSSEParserLimit(t *testing.T) {
	p := SSEParser{MaxEvent: 16}
	if _, err := p.Feed([]byte("data: " + strings.Repeat("x", 32))); err != ErrSSEEventTooLarge {
		t.Fatalf("want ErrSSEEventTooLarge, got %v", err)
	}
}

func TestAppendEvent(t *testing.T) {
	ev := SSEEvent{ID: "7", Event: "message"}
	got := AppendEvent(nil, &ev, []byte(`{"a":1}`))
	if string(got) != "event: message\nid: 7\ndata: {\"a\":1}\n\n" {
		t.Fatalf("got %q", got)
	}
	var p SSEParser
	evs, _ := p.Feed(got)
	if len(evs) != 1 || !bytes.Equal(evs[0].Data, []byte(`{"a":1}`)) {
		t.Fatalf("round trip failed: %+v", evs)
	}
}

func FuzzSSEParser(f *testing.F) {
	f.Add([]byte(sseStream), 5)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		if split < 0 {
			split = -split
		}
		if len(b) > 0 {
			split %= len(b) + 1
		} else {
			split = 0
		}
		var p SSEParser
		var raw []byte
		for _, c := range [][]byte{b[:split], b[split:]} {
			evs, _ := p.Feed(c)
			for _, e := range evs {
				raw = append(raw, e.Raw...)
			}
		}
		raw = append(raw, p.Pending()...)
		if !bytes.Equal(raw, b) {
			t.Fatalf("bytes lost or reordered")
		}
	})
}
