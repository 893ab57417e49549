package gateway_test

// MCP 2026-07-28 through the data plane (issue 10, "2026-07-28" bullet): the
// behaviours the conformance suite's 2026-07-28 requirement set found broken
// through the gateway, each driven with raw requests against the Go SDK's
// stateless (2026-07-28) server, directly and through Portcullis.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/gateway"
	"github.com/portcullis-mcp/portcullis/mcp"
)

const rev2026 = "2026-07-28"

type env2026 struct {
	direct  string // the upstream's MCP endpoint
	through string // the same server through the gateway
}

// start2026 starts a stateless Go SDK server with the tools the tests drive
// and a gateway in front of it that allows every tool but "forbidden".
func start2026(t *testing.T) *env2026 {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "ref2026", Version: "v0"}, nil)
	text := func(s string) *sdk.CallToolResult {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}
	}
	sdk.AddTool(srv, &sdk.Tool{Name: "echo", Description: "echoes its text"},
		func(_ context.Context, _ *sdk.CallToolRequest, in struct {
			Text string `json:"text"`
		}) (*sdk.CallToolResult, any, error) {
			return text("echo: " + in.Text), nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "forbidden", Description: "denied by the gateway's config"},
		func(context.Context, *sdk.CallToolRequest, any) (*sdk.CallToolResult, any, error) {
			return text("must not run"), nil, nil
		})
	// progress streams notifications on the POST response before its result.
	sdk.AddTool(srv, &sdk.Tool{Name: "progress", Description: "reports progress three times"},
		func(ctx context.Context, req *sdk.CallToolRequest, _ any) (*sdk.CallToolResult, any, error) {
			tok := req.Params.GetProgressToken()
			for i := 1; i <= 3; i++ {
				if err := req.Session.NotifyProgress(ctx, &sdk.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: 3, Message: fmt.Sprintf("step %d", i)}); err != nil {
					return nil, nil, err
				}
			}
			return text("done"), nil, nil
		})
	// two_rounds asks for input twice; the round lives in requestState
	// because a stateless server keeps nothing between the retries.
	sdk.AddTool(srv, &sdk.Tool{Name: "two_rounds", Description: "two rounds of InputRequiredResult"},
		func(_ context.Context, req *sdk.CallToolRequest, _ any) (*sdk.CallToolResult, any, error) {
			answer := func(key, field string) string {
				r, _ := req.Params.InputResponses[key].(*sdk.ElicitResult)
				if r == nil || r.Action != "accept" {
					return "?"
				}
				s, _ := r.Content[field].(string)
				return s
			}
			ask := func(msg, field string) *sdk.ElicitParams {
				return &sdk.ElicitParams{Message: msg, RequestedSchema: map[string]any{
					"type": "object", "properties": map[string]any{field: map[string]any{"type": "string"}}, "required": []string{field},
				}}
			}
			switch st := req.Params.RequestState; {
			case st == "":
				return &sdk.CallToolResult{InputRequests: sdk.InputRequestMap{"step1": ask("name?", "name")}, RequestState: "round=1"}, nil, nil
			case st == "round=1":
				return &sdk.CallToolResult{InputRequests: sdk.InputRequestMap{"step2": ask("color?", "color")}, RequestState: "round=2;name=" + answer("step1", "name")}, nil, nil
			case strings.HasPrefix(st, "round=2;name="):
				return text(strings.TrimPrefix(st, "round=2;name=") + " likes " + answer("step2", "color")), nil, nil
			default:
				return nil, nil, fmt.Errorf("unknown requestState %q", st)
			}
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "change_prompts", Description: "changes the prompt list"},
		func(context.Context, *sdk.CallToolRequest, any) (*sdk.CallToolResult, any, error) {
			srv.AddPrompt(&sdk.Prompt{Name: "transient"}, func(context.Context, *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
				return &sdk.GetPromptResult{}, nil
			})
			return text("prompts changed"), nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "change_tools", Description: "changes the tool list"},
		func(context.Context, *sdk.CallToolRequest, any) (*sdk.CallToolResult, any, error) {
			sdk.AddTool(srv, &sdk.Tool{Name: "transient"}, func(context.Context, *sdk.CallToolRequest, any) (*sdk.CallToolResult, any, error) {
				return text("transient"), nil, nil
			})
			return text("tools changed"), nil, nil
		})
	srv.AddPrompt(&sdk.Prompt{Name: "hello"}, func(context.Context, *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
		return &sdk.GetPromptResult{Messages: []*sdk.PromptMessage{{Role: "user", Content: &sdk.TextContent{Text: "hello"}}}}, nil
	})
	up := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{Stateless: true}))
	t.Cleanup(up.Close)

	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: {proxy: 127.0.0.1:0, extproc: 127.0.0.1:0, admin: 127.0.0.1:0}
servers:
  - name: ref
    url: %s/mcp
    tools: {allow: ["*"], deny: [forbidden]}
`, up.URL)))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(context.Background(), cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return &env2026{direct: up.URL + "/mcp", through: "http://" + gw.ProxyAddr() + "/mcp/ref"}
}

// rpc2026 is one 2026-07-28 request: the revision and client capabilities in
// params._meta, the routing headers the revision requires.
type rpc2026 struct {
	id      any // nil for none
	method  string
	params  map[string]any
	version string            // MCP-Protocol-Version and _meta revision; rev2026 when empty
	headers map[string]string // overrides
	meta    map[string]any    // more params._meta entries
}

func (r rpc2026) request(ctx context.Context, t *testing.T, url string) *http.Response {
	t.Helper()
	v := r.version
	if v == "" {
		v = rev2026
	}
	params := map[string]any{}
	for k, x := range r.params {
		params[k] = x
	}
	params["_meta"] = map[string]any{
		mcp.MetaProtocolVersionKey:                   v,
		"io.modelcontextprotocol/clientCapabilities": map[string]any{"elicitation": map[string]any{"form": map[string]any{}}},
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "e2e", "version": "v0"},
	}
	for k, x := range r.meta {
		params["_meta"].(map[string]any)[k] = x
	}
	msg := map[string]any{"jsonrpc": "2.0", "method": r.method, "params": params}
	if r.id != nil {
		msg["id"] = r.id
	}
	body, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", v)
	req.Header.Set("Mcp-Method", r.method)
	if name, ok := r.params["name"].(string); ok {
		req.Header.Set("Mcp-Name", name)
	}
	for k, x := range r.headers {
		req.Header.Set(k, x)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, url, err)
	}
	return resp
}

// exchange sends r and returns the HTTP status and every JSON-RPC message of
// the answer (one for JSON, each data event for SSE).
func (r rpc2026) exchange(t *testing.T, url string) (int, []map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp := r.request(ctx, t, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", r.method, url, err)
	}
	var raws [][]byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var p mcp.SSEParser
		evs, err := p.Feed(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.HasData && len(ev.Data) > 0 {
				raws = append(raws, append([]byte(nil), ev.Data...))
			}
		}
	} else if len(bytes.TrimSpace(b)) > 0 {
		raws = append(raws, b)
	}
	var msgs []map[string]any
	for _, raw := range raws {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: answer is not JSON-RPC: %v: %s", r.method, url, err, raw)
		}
		msgs = append(msgs, m)
	}
	return resp.StatusCode, msgs
}

// final is the response (the message with an id) among msgs.
func final(t *testing.T, msgs []map[string]any) map[string]any {
	t.Helper()
	for _, m := range msgs {
		if _, ok := m["id"]; ok {
			if _, isReq := m["method"]; !isReq {
				return m
			}
		}
	}
	t.Fatalf("no JSON-RPC response among %v", msgs)
	return nil
}

func errCode(m map[string]any) any {
	e, _ := m["error"].(map[string]any)
	return e["code"]
}

// TestE2E20260728UpstreamAnswersUnchanged: what the upstream answers (results
// and errors, JSON and SSE) reaches the client as the client would have got
// it directly — same HTTP status, same JSON-RPC id (never null), same result
// or error code.
func TestE2E20260728UpstreamAnswersUnchanged(t *testing.T) {
	e := start2026(t)
	for _, tc := range []struct {
		name string
		r    rpc2026
	}{
		{"server/discover", rpc2026{id: 1, method: "server/discover"}},
		{"tools/call integer id", rpc2026{id: 2, method: "tools/call", params: map[string]any{"name": "echo", "arguments": map[string]any{"text": "hi"}}}},
		{"tools/call string id", rpc2026{id: "call-3", method: "tools/call", params: map[string]any{"name": "echo", "arguments": map[string]any{"text": "hi"}}}},
		{"prompts/get", rpc2026{id: 4, method: "prompts/get", params: map[string]any{"name": "hello"}}},
		{"initialize is gone in 2026-07-28 (404 error)", rpc2026{id: "init-5", method: "initialize"}},
		{"unknown method (404 error)", rpc2026{id: 6, method: "no/such/method"}},
		{"unknown tool (error)", rpc2026{id: 7, method: "tools/call", params: map[string]any{"name": "nope", "arguments": map[string]any{}}}},
		{"unknown prompt (error)", rpc2026{id: "p-8", method: "prompts/get", params: map[string]any{"name": "nope"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, dm := tc.r.exchange(t, e.direct)
			ts, tm := tc.r.exchange(t, e.through)
			d, th := final(t, dm), final(t, tm)
			if ds != ts {
				t.Errorf("HTTP status %d directly, %d through the gateway", ds, ts)
			}
			if !reflect.DeepEqual(d["id"], th["id"]) || th["id"] == nil {
				t.Errorf("id %v directly, %v through the gateway", d["id"], th["id"])
			}
			if !reflect.DeepEqual(d["result"], th["result"]) {
				t.Errorf("result differs:\n direct  %v\n through %v", d["result"], th["result"])
			}
			if !reflect.DeepEqual(errCode(d), errCode(th)) {
				t.Errorf("error differs:\n direct  %v\n through %v", d["error"], th["error"])
			}
		})
	}
}

// TestE2E20260728GatewayErrorsKeepID: the gateway's own refusals of
// 2026-07-28 requests carry the request's id and the revision's codes; an
// unknown revision is UnsupportedProtocolVersion (-32022) with the supported
// revisions and the requested one, like the reference server's.
func TestE2E20260728GatewayErrorsKeepID(t *testing.T) {
	e := start2026(t)
	for _, tc := range []struct {
		name   string
		r      rpc2026
		status int
		code   float64
	}{
		{"unsupported revision", rpc2026{id: 11, method: "server/discover", version: "v999.0.0"}, 400, mcp.CodeUnsupportedProtocolVersion},
		{"unsupported revision, string id", rpc2026{id: "v-12", method: "tools/list", version: "2099-01-01"}, 400, mcp.CodeUnsupportedProtocolVersion},
		{"Mcp-Method mismatch", rpc2026{id: 13, method: "tools/list", headers: map[string]string{"Mcp-Method": "prompts/list"}}, 400, mcp.CodeHeaderMismatch},
		{"Mcp-Name mismatch", rpc2026{id: "n-14", method: "tools/call", params: map[string]any{"name": "echo", "arguments": map[string]any{"text": "x"}}, headers: map[string]string{"Mcp-Name": "other"}}, 400, mcp.CodeHeaderMismatch},
		{"tool denied by config", rpc2026{id: 15, method: "tools/call", params: map[string]any{"name": "forbidden", "arguments": map[string]any{}}}, 200, mcp.CodePolicyDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, msgs := tc.r.exchange(t, e.through)
			m := final(t, msgs)
			if status != tc.status || !reflect.DeepEqual(m["id"], normID(tc.r.id)) || errCode(m) != tc.code {
				t.Fatalf("got HTTP %d %v, want HTTP %d, id %v, code %v", status, m, tc.status, tc.r.id, tc.code)
			}
			if tc.code != mcp.CodeUnsupportedProtocolVersion {
				return
			}
			data, _ := m["error"].(map[string]any)["data"].(map[string]any)
			sup, _ := data["supported"].([]any)
			if data["requested"] != tc.r.version || !containsAny(sup, rev2026) {
				t.Fatalf("error data %v: want requested %q and supported listing %s", data, tc.r.version, rev2026)
			}
			// The reference server answers the same way directly.
			ds, dm := tc.r.exchange(t, e.direct)
			if d := final(t, dm); ds != status || errCode(d) != errCode(m) {
				t.Fatalf("directly HTTP %d %v, through HTTP %d %v", ds, d, status, m)
			}
		})
	}
}

func normID(id any) any {
	if n, ok := id.(int); ok {
		return float64(n)
	}
	return id
}

func containsAny(xs []any, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// TestE2E20260728SubscriptionsListen: a subscriptions/listen stream is
// streamed, not buffered — its acknowledgement arrives while the stream is
// open — and the list-changed notifications the server sends later arrive
// on it tagged with the subscription id, only for the kinds the filter asked.
func TestE2E20260728SubscriptionsListen(t *testing.T) {
	e := start2026(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel() // closing the stream cancels the subscription
	resp := rpc2026{id: 21, method: "subscriptions/listen", params: map[string]any{
		"notifications": map[string]any{"toolsListChanged": true},
	}}.request(ctx, t, e.through)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("subscriptions/listen: HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	events := make(chan map[string]any, 16)
	go func() {
		defer close(events)
		var p mcp.SSEParser
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			evs, perr := p.Feed(buf[:n])
			for _, ev := range evs {
				var m map[string]any
				if ev.HasData && json.Unmarshal(ev.Data, &m) == nil {
					events <- m
				}
			}
			if err != nil || perr != nil {
				return
			}
		}
	}()
	next := func(what string) map[string]any {
		t.Helper()
		select {
		case m, ok := <-events:
			if !ok {
				t.Fatalf("stream ended before %s", what)
			}
			return m
		case <-ctx.Done():
			t.Fatalf("no %s on the listen stream", what)
		}
		return nil
	}
	subID := func(m map[string]any) any {
		p, _ := m["params"].(map[string]any)
		meta, _ := p["_meta"].(map[string]any)
		return meta["io.modelcontextprotocol/subscriptionId"]
	}
	ack := next("acknowledgement")
	if ack["method"] != "notifications/subscriptions/acknowledged" || subID(ack) == nil {
		t.Fatalf("first frame %v, want notifications/subscriptions/acknowledged with a subscription id", ack)
	}
	// A prompt change (filtered out) then a tool change: the next frame
	// must be the tool change, tagged like the acknowledgement.
	for _, tool := range []string{"change_prompts", "change_tools"} {
		if st, msgs := (rpc2026{id: tool, method: "tools/call", params: map[string]any{"name": tool, "arguments": map[string]any{}}}).exchange(t, e.through); st != 200 || final(t, msgs)["result"] == nil {
			t.Fatalf("%s: HTTP %d %v", tool, st, msgs)
		}
	}
	n := next("tools/list_changed notification")
	if n["method"] != "notifications/tools/list_changed" {
		t.Fatalf("frame %v, want notifications/tools/list_changed (prompts/list_changed was not asked for)", n)
	}
	if !reflect.DeepEqual(subID(n), subID(ack)) {
		t.Fatalf("notification subscription id %v, acknowledgement's %v", subID(n), subID(ack))
	}
	if _, isReq := n["id"]; isReq {
		t.Fatalf("listen stream carried a request: %v", n)
	}
}

// TestE2E20260728StreamedToolCall: a tool call answered on an SSE stream
// with notifications before its result (what the suite's streaming
// elicitation scenario checks) passes through whole, in order.
func TestE2E20260728StreamedToolCall(t *testing.T) {
	e := start2026(t)
	r := rpc2026{id: 31, method: "tools/call", params: map[string]any{"name": "progress", "arguments": map[string]any{}},
		meta: map[string]any{"progressToken": "tok-1"}}
	for _, url := range []string{e.direct, e.through} {
		status, msgs := r.exchange(t, url)
		var kinds []string
		for _, m := range msgs {
			if _, isReq := m["id"]; isReq && m["method"] != nil {
				t.Fatalf("%s: a request on the response stream: %v", url, m)
			}
			if m["method"] != nil {
				kinds = append(kinds, m["method"].(string))
			} else {
				kinds = append(kinds, "response")
			}
		}
		want := "notifications/progress,notifications/progress,notifications/progress,response"
		if status != 200 || strings.Join(kinds, ",") != want {
			t.Fatalf("%s: HTTP %d frames %v, want %s", url, status, kinds, want)
		}
		if res := final(t, msgs); res["id"] != float64(31) || res["error"] != nil {
			t.Fatalf("%s: response %v", url, res)
		}
	}
}

// TestE2E20260728MultiRoundInputRequired: an upstream's InputRequiredResult
// reaches the client intact, and the client's retries (inputResponses and
// the upstream's requestState) reach the upstream intact, round after round.
func TestE2E20260728MultiRoundInputRequired(t *testing.T) {
	e := start2026(t)
	call := func(id int, state string, responses map[string]any) map[string]any {
		t.Helper()
		params := map[string]any{"name": "two_rounds", "arguments": map[string]any{}}
		if state != "" {
			params["requestState"] = state
			params["inputResponses"] = responses
		}
		status, msgs := rpc2026{id: id, method: "tools/call", params: params}.exchange(t, e.through)
		res, _ := final(t, msgs)["result"].(map[string]any)
		if status != 200 || res == nil {
			t.Fatalf("round %d: HTTP %d %v", id, status, msgs)
		}
		return res
	}
	accept := func(field, v string) map[string]any {
		return map[string]any{"action": "accept", "content": map[string]any{field: v}}
	}
	r1 := call(1, "", nil)
	if r1["resultType"] != "input_required" || r1["requestState"] != "round=1" || r1["inputRequests"].(map[string]any)["step1"] == nil {
		t.Fatalf("round 1: %v", r1)
	}
	r2 := call(2, "round=1", map[string]any{"step1": accept("name", "Ada")})
	if r2["resultType"] != "input_required" || r2["requestState"] != "round=2;name=Ada" || r2["inputRequests"].(map[string]any)["step2"] == nil {
		t.Fatalf("round 2: %v", r2)
	}
	r3 := call(3, "round=2;name=Ada", map[string]any{"step2": accept("color", "green")})
	content, _ := r3["content"].([]any)
	if len(content) != 1 || content[0].(map[string]any)["text"] != "Ada likes green" || r3["resultType"] == "input_required" {
		t.Fatalf("round 3: %v", r3)
	}
}
