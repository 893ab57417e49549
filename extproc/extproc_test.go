package extproc

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/portcullis-mcp/portcullis/config"
)

const testConfig = `
servers:
  - name: files
    url: http://127.0.0.1:1/mcp
    tools: {allow: [read_file, list_dir], deny: ["delete_*"]}
limits: {max_body_bytes: 4096, max_depth: 16, max_sse_event_bytes: 2048}
`

func testServer(t *testing.T) (extprocv3.ExternalProcessorClient, *grpc.ClientConn) {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg)
	g := grpc.NewServer()
	s.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return extprocv3.NewExternalProcessorClient(conn), conn
}

func hdrs(eos bool, kv ...string) *extprocv3.HttpHeaders {
	hm := &corev3.HeaderMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return &extprocv3.HttpHeaders{Headers: hm, EndOfStream: eos}
}

func reqHeadersMsg(kv ...string) *extprocv3.ProcessingRequest {
	base := []string{":method", "POST", ":path", "/mcp/files", "content-type", "application/json"}
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: hdrs(false, append(base, kv...)...)}}
}

func reqBodyMsg(body string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}}
}

func respHeadersMsg(ct string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: hdrs(false, ":status", "200", "content-type", ct)}}
}

func respBodyMsg(body string, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: eos}}}
}

// converse sends each message and collects the reply, as Envoy does.
func converse(t *testing.T, c extprocv3.ExternalProcessorClient, msgs ...*extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*extprocv3.ProcessingResponse
	for _, m := range msgs {
		if err := s.Send(m); err != nil {
			t.Fatal(err)
		}
		r, err := s.Recv()
		if err != nil {
			t.Fatalf("recv after %T: %v", m.Request, err)
		}
		out = append(out, r)
		if r.GetImmediateResponse() != nil {
			break
		}
	}
	_ = s.CloseSend()
	return out
}

const listCall = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
const listResult = `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}},{"name":"delete_file","inputSchema":{"type":"object"}},{"name":"list_dir","inputSchema":{"type":"object"}}]}}`

func TestBufferedToolsListFilteredAndContentLength(t *testing.T) {
	c, _ := testServer(t)
	rs := converse(t, c, reqHeadersMsg(), reqBodyMsg(listCall), respHeadersMsg("application/json"), respBodyMsg(listResult, true))
	if len(rs) != 4 {
		t.Fatalf("%d replies", len(rs))
	}
	if rs[0].GetRequestHeaders() == nil || rs[1].GetRequestBody() == nil || rs[2].GetResponseHeaders() == nil || rs[3].GetResponseBody() == nil {
		t.Fatalf("reply types out of order: %v", rs)
	}
	cr := rs[3].GetResponseBody().GetResponse()
	body := cr.GetBodyMutation().GetBody()
	if strings.Contains(string(body), "delete_file") || !strings.Contains(string(body), "read_file") || !strings.Contains(string(body), "list_dir") {
		t.Fatalf("tools not filtered: %s", body)
	}
	if !json.Valid(body) {
		t.Fatalf("invalid JSON: %s", body)
	}
	var cl string
	for _, h := range cr.GetHeaderMutation().GetSetHeaders() {
		if h.Header.Key == "content-length" {
			cl = string(h.Header.RawValue)
		}
		if h.Header.Value != "" {
			t.Fatal("header set in value instead of raw_value")
		}
	}
	if cl != itoa(len(body)) {
		t.Fatalf("content-length %q, body %d bytes", cl, len(body))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestSSEModeOverrideAndEventReassembly(t *testing.T) {
	c, _ := testServer(t)
	ev1 := "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n"
	ev2 := "data: " + listResult + "\n\n"
	stream := ev1 + ev2
	split := len(ev1) + 20 // second event split mid-JSON
	rs := converse(t, c, reqHeadersMsg(), reqBodyMsg(listCall), respHeadersMsg("text/event-stream"),
		respBodyMsg(stream[:split], false), respBodyMsg(stream[split:], true))
	if len(rs) != 5 {
		t.Fatalf("%d replies", len(rs))
	}
	mo := rs[2].GetModeOverride()
	if mo.GetResponseBodyMode() != filterv3.ProcessingMode_STREAMED || mo.GetRequestBodyMode() != filterv3.ProcessingMode_BUFFERED {
		t.Fatalf("mode override %v", mo)
	}
	if rm := rs[2].GetResponseHeaders().GetResponse().GetHeaderMutation().GetRemoveHeaders(); len(rm) != 1 || rm[0] != "content-length" {
		t.Fatalf("content-length not removed: %v", rm)
	}
	first := rs[3].GetResponseBody().GetResponse().GetBodyMutation()
	if string(first.GetBody()) != ev1 {
		t.Fatalf("first chunk should release exactly the complete event, got %q", first.GetBody())
	}
	second := string(rs[4].GetResponseBody().GetResponse().GetBodyMutation().GetBody())
	if !strings.HasPrefix(second, "data: ") || strings.Contains(second, "delete_file") || !strings.Contains(second, "read_file") {
		t.Fatalf("second event not filtered: %q", second)
	}
}

func TestSSEInvalidEventFailsClosed(t *testing.T) {
	c, _ := testServer(t)
	rs := converse(t, c, reqHeadersMsg(), reqBodyMsg(listCall), respHeadersMsg("text/event-stream"),
		respBodyMsg("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":1,\"a\":2}}\n\n", true))
	body := string(rs[3].GetResponseBody().GetResponse().GetBodyMutation().GetBody())
	if !strings.Contains(body, "-32603") || strings.Contains(body, `"a":2`) {
		t.Fatalf("invalid event passed: %q", body)
	}
}

func TestUnmatchedResponseRefused(t *testing.T) {
	c, _ := testServer(t)
	rs := converse(t, c, reqHeadersMsg(), reqBodyMsg(listCall), respHeadersMsg("application/json"),
		respBodyMsg(`{"jsonrpc":"2.0","id":99,"result":{"content":[]}}`, true))
	body := string(rs[3].GetResponseBody().GetResponse().GetBodyMutation().GetBody())
	if !strings.Contains(body, "does not match any request") {
		t.Fatalf("unmatched response passed: %s", body)
	}
}

func TestMalformedUpstreamJSONReplaced(t *testing.T) {
	c, _ := testServer(t)
	rs := converse(t, c, reqHeadersMsg(), reqBodyMsg(listCall), respHeadersMsg("application/json"), respBodyMsg(`{"jsonrpc":`, true))
	body := rs[3].GetResponseBody().GetResponse().GetBodyMutation().GetBody()
	var m struct {
		ID    int
		Error struct{ Code int }
	}
	if err := json.Unmarshal(body, &m); err != nil || m.ID != 1 || m.Error.Code != -32603 {
		t.Fatalf("got %s", body)
	}
}

func TestSSEOversizedEventFailsClosed(t *testing.T) {
	c, _ := testServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*extprocv3.ProcessingRequest{reqHeadersMsg(), reqBodyMsg(listCall), respHeadersMsg("text/event-stream")} {
		_ = s.Send(m)
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Send(respBodyMsg("data: "+strings.Repeat("x", 4096), false))
	if _, err := s.Recv(); err == nil {
		t.Fatal("oversized SSE event did not fail the stream")
	}
}

func TestGetAndDeletePassThrough(t *testing.T) {
	c, _ := testServer(t)
	for _, m := range []string{"GET", "DELETE"} {
		rs := converse(t, c, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
			RequestHeaders: hdrs(true, ":method", m, ":path", "/mcp/files", "mcp-session-id", "abc")}})
		if rs[0].GetRequestHeaders() == nil {
			t.Fatalf("%s not passed: %v", m, rs[0])
		}
	}
}

func TestGetStreamServerRequestsRecognized(t *testing.T) {
	c, _ := testServer(t)
	elicit := "id: 5\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"elicitation/create\",\"params\":{\"message\":\"ok?\",\"requestedSchema\":{\"type\":\"object\"}}}\n\n"
	rs := converse(t, c, &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: hdrs(true, ":method", "GET", ":path", "/mcp/files")}},
		respHeadersMsg("text/event-stream"), respBodyMsg(elicit, false))
	if len(rs) != 3 || rs[2].GetResponseBody() == nil {
		t.Fatalf("replies %v", rs)
	}
	if m := rs[2].GetResponseBody().GetResponse().GetBodyMutation(); m != nil && string(m.GetBody()) != elicit {
		t.Fatalf("server request altered: %q", m.GetBody())
	}
}

func TestHealthService(t *testing.T) {
	_, conn := testServer(t)
	h := healthpb.NewHealthClient(conn)
	r, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: extprocv3.ExternalProcessor_ServiceDesc.ServiceName})
	if err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", r, err)
	}
}

func TestSidecarServerFromMetadata(t *testing.T) {
	c, _ := testServer(t)
	ctx := metadata.AppendToOutgoingContext(context.Background(), ServerMetadataKey, "files")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := c.Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*extprocv3.ProcessingRequest{
		{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: hdrs(false, ":method", "POST", ":path", "/mcp", "content-type", "application/json")}},
		reqBodyMsg(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_file"}}`),
	}
	var last *extprocv3.ProcessingResponse
	for _, m := range msgs {
		if err := s.Send(m); err != nil {
			t.Fatal(err)
		}
		if last, err = s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	ir := last.GetImmediateResponse()
	if ir == nil || !strings.Contains(string(ir.Body), `on server \"files\" is not allowed`) {
		t.Fatalf("sidecar call not attributed to files: %v", last)
	}
}
