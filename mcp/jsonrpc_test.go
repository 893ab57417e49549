package mcp

import (
	"encoding/json"
	"strings"
	"testing"
)

var parseCases = []struct {
	name     string
	in       string
	batch    bool
	wantKind []Kind
	wantCode int
	wantMsg  string
}{
	{name: "request", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`, wantKind: []Kind{KindRequest}},
	{name: "string id", in: `{"jsonrpc":"2.0","id":"a-1","method":"ping"}`, wantKind: []Kind{KindRequest}},
	{name: "notification", in: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, wantKind: []Kind{KindNotification}},
	{name: "result", in: `{"jsonrpc":"2.0","id":3,"result":{}}`, wantKind: []Kind{KindResult}},
	{name: "error", in: `{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"x"}}`, wantKind: []Kind{KindError}},
	{name: "batch allowed", batch: true, in: `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"}]`, wantKind: []Kind{KindRequest, KindNotification}},
	{name: "batch refused", in: `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, wantCode: CodeInvalidRequest, wantMsg: "batches are not allowed"},
	{name: "empty batch", batch: true, in: `[]`, wantCode: CodeInvalidRequest, wantMsg: "empty JSON-RPC batch"},
	{name: "bad batch element", batch: true, in: `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"1.0","id":2,"method":"x"}]`, wantCode: CodeInvalidRequest, wantMsg: "batch element 1"},
	{name: "wrong version", in: `{"jsonrpc":"1.0","id":1,"method":"ping"}`, wantCode: CodeInvalidRequest, wantMsg: "unsupported JSON-RPC version"},
	{name: "missing version", in: `{"id":1,"method":"ping"}`, wantCode: CodeInvalidRequest, wantMsg: `missing "jsonrpc"`},
	{name: "null id", in: `{"jsonrpc":"2.0","id":null,"method":"ping"}`, wantCode: CodeInvalidRequest, wantMsg: "null is not allowed"},
	{name: "float id", in: `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, wantCode: CodeInvalidRequest, wantMsg: "string or an integer"},
	{name: "not object", in: `"hello"`, wantCode: CodeInvalidRequest, wantMsg: "must be a JSON object"},
	{name: "no method no result", in: `{"jsonrpc":"2.0","id":1}`, wantCode: CodeInvalidRequest, wantMsg: "needs a method"},
	{name: "result and error", in: `{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1}}`, wantCode: CodeInvalidRequest, wantMsg: "mutually exclusive"},
	{name: "params scalar", in: `{"jsonrpc":"2.0","id":1,"method":"x","params":3}`, wantCode: CodeInvalidRequest, wantMsg: "params must be"},
	{name: "malformed", in: `{"jsonrpc":"2.0",`, wantCode: CodeParseError, wantMsg: "parse error"},
	{name: "duplicate keys", in: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}`, wantCode: CodeParseError, wantMsg: "duplicate object key"},
}

func TestParseBody(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, _, perr := ParseBody([]byte(tc.in), ParseOptions{MaxDepth: 32, AllowBatch: tc.batch})
			if tc.wantCode != 0 {
				if perr == nil {
					t.Fatalf("want error %d, got %d messages", tc.wantCode, len(msgs))
				}
				if perr.Code != tc.wantCode || !strings.Contains(perr.Msg, tc.wantMsg) {
					t.Fatalf("want %d %q, got %d %q", tc.wantCode, tc.wantMsg, perr.Code, perr.Msg)
				}
				return
			}
			if perr != nil {
				t.Fatalf("unexpected error: %v", perr)
			}
			if len(msgs) != len(tc.wantKind) {
				t.Fatalf("want %d messages, got %d", len(tc.wantKind), len(msgs))
			}
			for i, k := range tc.wantKind {
				if msgs[i].Kind != k {
					t.Errorf("message %d: kind %v, want %v", i, msgs[i].Kind, k)
				}
				if !json.Valid(msgs[i].Raw) {
					t.Errorf("message %d raw is not JSON: %q", i, msgs[i].Raw)
				}
			}
		})
	}
}

func TestErrorResponseIsValidJSON(t *testing.T) {
	body := ErrorResponse(`"x\"y"`, CodePolicyDenied, "tool \"rm\" <blocked>\n", &ErrorData{DecisionID: "d1", Rule: "r", Score: 42, Tool: "rm\xff"})
	var v struct {
		ID    string `json:"id"`
		Error struct {
			Code    int
			Message string
			Data    map[string]any
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", body, err)
	}
	if v.ID != `x"y` || v.Error.Code != CodePolicyDenied || v.Error.Data["decision_id"] != "d1" || v.Error.Data["score"].(float64) != 42 {
		t.Fatalf("unexpected decode: %+v", v)
	}
	if null := ErrorResponse("", CodeParseError, "x", nil); !strings.Contains(string(null), `"id":null`) {
		t.Fatalf("missing null id: %s", null)
	}
}

func TestCheckRoutingHeaders(t *testing.T) {
	call := func(name string) *Message {
		msgs, _, perr := ParseBody([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`), ParseOptions{MaxDepth: 16})
		if perr != nil {
			t.Fatal(perr)
		}
		return &msgs[0]
	}
	cases := []struct {
		name string
		rev  Revision
		h    RoutingHeaders
		msg  *Message
		ok   bool
	}{
		{"stateless agree", Rev20260728, RoutingHeaders{Method: "tools/call", Name: "read"}, call("read"), true},
		{"stateless missing method", Rev20260728, RoutingHeaders{Name: "read"}, call("read"), false},
		{"stateless missing name", Rev20260728, RoutingHeaders{Method: "tools/call"}, call("read"), false},
		{"stateless name lies", Rev20260728, RoutingHeaders{Method: "tools/call", Name: "read"}, call("delete"), false},
		{"method lies", Rev20250618, RoutingHeaders{Method: "ping"}, call("read"), false},
		{"old revision no headers", Rev20250618, RoutingHeaders{}, call("read"), true},
		{"base64 name", Rev20260728, RoutingHeaders{Method: "tools/call", Name: "=?base64?cmVhZA==?="}, call("read"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			perr := CheckRoutingHeaders(tc.rev, tc.h, tc.msg)
			if (perr == nil) != tc.ok {
				t.Fatalf("ok=%v, got %v", tc.ok, perr)
			}
			if perr != nil && perr.Code != CodeHeaderMismatch {
				t.Fatalf("code %d, want %d", perr.Code, CodeHeaderMismatch)
			}
		})
	}
}

func FuzzParseBody(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in), tc.batch)
	}
	f.Fuzz(func(t *testing.T, b []byte, batch bool) {
		msgs, _, perr := ParseBody(b, ParseOptions{MaxDepth: 32, AllowBatch: batch})
		if perr == nil {
			for _, m := range msgs {
				if m.Kind == 0 || !json.Valid(m.Raw) {
					t.Fatalf("accepted bad message %q", b)
				}
			}
		}
	})
}

func TestPeekID(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"jsonrpc":"2.0","id":42,"method":"ping"}`, "42"},
		{`{"jsonrpc":"2.0","id":"a\"b","method":"ping"}`, `"a\"b"`},
		{`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`, ""},
		{`{"jsonrpc":"2.0","id":null}`, ""},
		{`[{"jsonrpc":"2.0","id":1}]`, ""},
		{`{"jsonrpc":"2.0","id":1,`, ""},
		{``, ""},
	} {
		if got := PeekID([]byte(tc.body)); string(got) != tc.want {
			t.Errorf("PeekID(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestErrorDataSupportedVersions(t *testing.T) {
	b := ErrorResponse("7", CodeInvalidRequest, "unsupported", &ErrorData{Score: -1, Supported: []string{"2025-06-18", "2026-07-28"}, Requested: "1999-01-01"})
	var m struct {
		ID    int
		Error struct {
			Data struct {
				Supported []string
				Requested string
			}
		}
	}
	if err := json.Unmarshal(b, &m); err != nil || m.ID != 7 || len(m.Error.Data.Supported) != 2 || m.Error.Data.Requested != "1999-01-01" {
		t.Fatalf("%v: %s", err, b)
	}
}
