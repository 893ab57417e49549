package dataplane

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// H answers one message kind in a matrix script.
type H func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error)

// byKind builds a script from handlers keyed by the first word of render()
// (req_headers, req_body, resp_headers, ...); other messages get CONTINUE.
func byKind(h map[string]H) script {
	return func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		k := strings.Fields(render(req))[0]
		if f := h[k]; f != nil {
			return f(req)
		}
		return cont(req), nil
	}
}

func with(mut ...func(*extprocv3.CommonResponse)) H {
	return func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{reply(req, common(mut...))}, nil
	}
}

func respond(r ...*extprocv3.ProcessingResponse) H {
	return func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) { return r, nil }
}

func ptr(s string) *string { return &s }

func mode(reqBody, respBody BodySendMode) FilterConfig {
	return FilterConfig{ProcessingMode: ProcessingMode{RequestBody: reqBody, ResponseBody: respBody}}
}

// waitMsgs waits until the processor has received n messages.
func (e *env) waitMsgs(n int) {
	e.t.Helper()
	waitFor(e.t, func() bool { return len(e.proc.requests()) >= n })
}

// chunked sends a POST whose body is written in parts: before each part i>0
// the writer waits until the processor has seen gate[i] messages (gate[i] = 0:
// no wait). A final empty write closes the body.
func chunked(parts []string, gates []int, trailer http.Header) func(e *env) clientSaw {
	return func(e *env) clientSaw {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, e.front.URL+"/mcp/files", pr)
		req.ContentLength = -1
		if trailer != nil {
			req.Trailer = http.Header{}
			for k := range trailer {
				req.Trailer[k] = nil
			}
		}
		go func() {
			for i, p := range parts {
				if i < len(gates) && gates[i] > 0 {
					e.waitMsgs(gates[i])
				}
				if p != "" {
					_, _ = pw.Write([]byte(p))
				}
			}
			for k, v := range trailer {
				req.Trailer[k] = v
			}
			_ = pw.Close()
		}()
		return e.do(req)
	}
}

func get(path string, hdr ...string) func(e *env) clientSaw {
	return func(e *env) clientSaw {
		req, _ := http.NewRequest(http.MethodGet, e.front.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		return e.do(req)
	}
}

func postTo(path, body string) func(e *env) clientSaw {
	return func(e *env) clientSaw { return e.post(path, body) }
}

func trailerUpstream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Trailer", "X-Up-Trailer")
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"r":1}`)
	w.(http.Flusher).Flush()
	w.Header().Set("X-Up-Trailer", "t1")
}

const jsonResp = `{"jsonrpc":"2.0","id":1,"result":{}}`

func overrideReply(req *extprocv3.ProcessingRequest, m ProcessingMode, mut ...func(*extprocv3.CommonResponse)) []*extprocv3.ProcessingResponse {
	r := reply(req, common(mut...))
	r.ModeOverride = m.Proto()
	return []*extprocv3.ProcessingResponse{r}
}

type matrixCase struct {
	name       string
	opts       envOpts
	script     script
	request    func(e *env) clientSaw // default POST {"a":1} to /mcp/files
	transcript []string               // nil: not checked
	status     int                    // 0: not checked
	body       *string
	upstreams  int     // expected upstream request count; -1: not checked
	upBody     *string // body the upstream saw
	details    string  // local reply / reset details
	reset      bool    // client must see a broken response
	check      func(t *testing.T, e *env, got clientSaw)
}

func runMatrix(t *testing.T, cases []matrixCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := tc.script
			if sc == nil {
				sc = continueAll
			}
			e := newEnv(t, tc.opts, sc)
			req := tc.request
			if req == nil {
				req = postTo("/mcp/files", `{"a":1}`)
			}
			got := req(e)
			if tc.reset {
				if got.Err == nil {
					t.Errorf("client saw a complete response (status %d, body %q); want reset", got.Status, got.Body)
				}
			} else if got.Err != nil {
				t.Fatalf("client error: %v", got.Err)
			}
			if tc.status != 0 {
				eq(t, "status", got.Status, tc.status)
			}
			if tc.body != nil {
				eq(t, "client body", got.Body, *tc.body)
			}
			if tc.transcript != nil {
				// the processor may still be receiving the tail; wait briefly
				waitForOrDump(t, e, len(mergeRespTail(tc.transcript)))
				eq(t, "transcript", mergeRespTail(renderAll(e.proc.requests())), mergeRespTail(tc.transcript))
			}
			if tc.upstreams >= 0 {
				eq(t, "upstream requests", len(e.upstream()), tc.upstreams)
			}
			if tc.upBody != nil {
				if up := e.upstream(); len(up) == 1 {
					eq(t, "upstream body", up[0].Body, *tc.upBody)
				} else {
					t.Errorf("upstream saw %d requests", len(up))
				}
			}
			if tc.details != "" {
				_, d, _ := e.lastTrace().LocalReply()
				eq(t, "details", d, tc.details)
			}
			if tc.check != nil {
				tc.check(t, e, got)
			}
		})
	}
}

func upHeader(k string) func(t *testing.T, e *env) string {
	return func(t *testing.T, e *env) string {
		up := e.upstream()
		if len(up) != 1 {
			t.Fatalf("upstream saw %d requests", len(up))
		}
		return up[0].Header.Get(k)
	}
}

// TestMatrixRequestPath covers §9.5 for the request direction.
func TestMatrixRequestPath(t *testing.T) {
	rh := "resp_headers 200 eos=false cl=36"
	cases := []matrixCase{}
	// body-less request: only headers with eos=true, in every body mode
	for _, m := range []BodySendMode{BodyNone, BodyBuffered, BodyStreamed, BodyBufferedPartial, BodyGRPC} {
		cases = append(cases, matrixCase{
			name: "bodyless GET/" + m.String(), opts: envOpts{filter: mode(m, BodyNone)},
			request:    get("/mcp/files/x?q=1"),
			transcript: []string{"req_headers eos=true", rh}, status: 200, upstreams: 1, upBody: ptr(""),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "upstream path", e.upstream()[0].Path, "/mcp/x")
				eq(t, "upstream query", e.upstream()[0].Query, "q=1")
			},
		})
	}
	cases = append(cases,
		matrixCase{name: "NONE body passes unprocessed", opts: envOpts{filter: mode(BodyNone, BodyNone)},
			transcript: []string{"req_headers eos=false cl=7", rh}, status: 200, upstreams: 1, upBody: ptr(`{"a":1}`),
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "upstream CL", e.upstream()[0].ContentLength, int64(7)) }},
		matrixCase{name: "GRPC mode behaves as NONE", opts: envOpts{filter: mode(BodyGRPC, BodyNone)},
			transcript: []string{"req_headers eos=false cl=7", rh}, upstreams: 1, upBody: ptr(`{"a":1}`)},
		matrixCase{name: "BUFFERED body arrives before headers reply", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			script:     byKind(map[string]H{"req_headers": afterBody(nil)}),
			transcript: []string{"req_headers eos=false cl=7", `req_body "{\"a\":1}" eos=true`, rh}, upstreams: 1, upBody: ptr(`{"a":1}`),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "upstream CL kept", e.upstream()[0].ContentLength, int64(7))
			}},
		matrixCase{name: "BUFFERED chunked body after headers reply", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			request:    chunked([]string{"ab", "cd", ""}, []int{1, 0, 0}, nil),
			transcript: []string{"req_headers eos=false", `req_body "abcd" eos=true`, rh}, upstreams: 1, upBody: ptr("abcd"),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "upstream chunked", e.upstream()[0].TransferEncoding, []string{"chunked"})
			}},
		matrixCase{name: "STREAMED body before headers reply is one buffered chunk", opts: envOpts{filter: mode(BodyStreamed, BodyNone)},
			script: byKind(map[string]H{"req_headers": afterBody(nil),
				"req_body": with(setBody("XY"), setHdr("x-late", "1"))}),
			transcript: []string{"req_headers eos=false", `req_body "{\"a\":1}" eos=true`, rh}, upstreams: 1, upBody: ptr("XY"),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "header mutation in buffered-callback body reply applies", upHeader("X-Late")(t, e), "1")
				eq(t, "content-length removed", e.upstream()[0].ContentLength, int64(-1))
			}},
		matrixCase{name: "STREAMED chunks after headers reply with empty final chunk", opts: envOpts{filter: mode(BodyStreamed, BodyNone)},
			script: byKind(map[string]H{"req_body": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return []*extprocv3.ProcessingResponse{reply(req, common(setBody(strings.ToUpper(string(req.GetRequestBody().GetBody())))))}, nil
			}}),
			request:    chunked([]string{"ab", "cd", ""}, []int{1, 2, 3}, nil),
			transcript: []string{"req_headers eos=false", `req_body "ab" eos=false`, `req_body "cd" eos=false`, `req_body "" eos=true`, rh},
			upstreams:  1, upBody: ptr("ABCD")},
		matrixCase{name: "STREAMED pipelined replies are FIFO", opts: envOpts{filter: mode(BodyStreamed, BodyNone)},
			script: func() script {
				var held []*extprocv3.ProcessingRequest
				return func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
					if !isType(req, "req_body") {
						return cont(req), nil
					}
					held = append(held, req)
					if !req.GetRequestBody().GetEndOfStream() {
						return nil, nil // answer later, all at once
					}
					var out []*extprocv3.ProcessingResponse
					for i, h := range held {
						out = append(out, reply(h, common(setBody(fmt.Sprintf("<%d:%s>", i, h.GetRequestBody().GetBody())))))
					}
					return out, nil
				}
			}(),
			request:    chunked([]string{"ab", "cd", ""}, []int{1, 2, 3}, nil),
			transcript: []string{"req_headers eos=false", `req_body "ab" eos=false`, `req_body "cd" eos=false`, `req_body "" eos=true`, rh},
			upBody:     ptr("<0:ab><1:cd><2:>"), upstreams: 1},
		matrixCase{name: "BUFFERED_PARTIAL under limit behaves like BUFFERED without content-length", opts: envOpts{filter: mode(BodyBufferedPartial, BodyNone)},
			script:     byKind(map[string]H{"req_headers": afterBody(nil)}),
			transcript: []string{"req_headers eos=false", `req_body "{\"a\":1}" eos=true`, rh}, upstreams: 1, upBody: ptr(`{"a":1}`)},
		matrixCase{name: "BUFFERED_PARTIAL over limit sends a partial body then streams the rest", opts: envOpts{filter: mode(BodyBufferedPartial, BodyNone), limit: 4},
			script:     byKind(map[string]H{"req_body": with(setBody("P"))}),
			request:    chunked([]string{"abcdef", "gh", ""}, []int{1, 2, 0}, nil),
			transcript: []string{"req_headers eos=false", `req_body "abcdef" eos=false`, rh}, upstreams: 1, upBody: ptr("Pgh")},
		matrixCase{name: "FULL_DUPLEX streams server-supplied bytes only", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyFullDuplex, RequestTrailer: HeaderSend}}},
			script: byKind(map[string]H{"req_body": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				b := req.GetRequestBody()
				return []*extprocv3.ProcessingResponse{{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
					BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{StreamedResponse: &extprocv3.StreamedBodyResponse{
						Body: []byte("[" + string(b.GetBody()) + "]"), EndOfStream: b.GetEndOfStream()}}}}}}}}, nil
			}}),
			request:    chunked([]string{"ab", ""}, []int{1, 2}, nil),
			transcript: []string{"req_headers eos=false", `req_body "ab" eos=false`, `req_body "" eos=true`, rh}, upstreams: 1, upBody: ptr("[ab][]")},
		matrixCase{name: "FULL_DUPLEX plain body mutation is spurious", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyFullDuplex, RequestTrailer: HeaderSend}}},
			script: byKind(map[string]H{"req_body": with(setBody("x"))}),
			status: 500, upstreams: -1, details: "spurious_message"},
		// trailers
		matrixCase{name: "BUFFERED trailers SKIP: body eos=false, trailers forwarded", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			request:    chunked([]string{"ab", ""}, []int{1, 0}, http.Header{"X-T": {"v"}}),
			transcript: []string{"req_headers eos=false", `req_body "ab" eos=false`, rh}, upstreams: 1, upBody: ptr("ab"),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "upstream trailer", e.upstream()[0].Trailer.Get("X-T"), "v")
			}},
		matrixCase{name: "BUFFERED trailers SEND: trailers message and mutation", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, RequestTrailer: HeaderSend}}},
			script:     byKind(map[string]H{"req_trailers": with(setHdr("x-t", "changed"))}),
			request:    chunked([]string{"ab", ""}, []int{1, 0}, http.Header{"X-T": {"v"}}),
			transcript: []string{"req_headers eos=false", `req_body "ab" eos=false`, "req_trailers", rh}, upstreams: 1, upBody: ptr("ab"),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "upstream trailer", e.upstream()[0].Trailer.Get("X-T"), "changed")
			}},
		matrixCase{name: "STREAMED trailers SEND", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyStreamed, RequestTrailer: HeaderSend}}},
			request:    chunked([]string{"ab", ""}, []int{1, 2}, http.Header{"X-T": {"v"}}),
			transcript: []string{"req_headers eos=false", `req_body "ab" eos=false`, "req_trailers", rh}, upstreams: 1, upBody: ptr("ab"),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "upstream trailer", e.upstream()[0].Trailer.Get("X-T"), "v")
			}},
		// header mode SKIP
		matrixCase{name: "request header SKIP + BUFFERED: first message is the body, content-length removed, header mutation ignored",
			opts:       envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestHeader: HeaderSkip, RequestBody: BodyBuffered}}},
			script:     byKind(map[string]H{"req_body": with(setHdr("x-ignored", "1"), setBody("new"))}),
			transcript: []string{`req_body "{\"a\":1}" eos=true`, rh}, upstreams: 1, upBody: ptr("new"),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "ignored header", upHeader("X-Ignored")(t, e), "")
				if e.proc.requests()[0].GetProtocolConfig() == nil {
					t.Error("protocol_config must ride on the first message")
				}
			}},
		// CONTINUE_AND_REPLACE
		matrixCase{name: "CONTINUE_AND_REPLACE with body replaces and drains", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			script: byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				c := common(setBody("replaced"))
				c.Status = extprocv3.CommonResponse_CONTINUE_AND_REPLACE
				return []*extprocv3.ProcessingResponse{reply(req, c)}, nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", rh}, upstreams: 1, upBody: ptr("replaced"),
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "CL removed", e.upstream()[0].ContentLength, int64(-1)) }},
		matrixCase{name: "CONTINUE_AND_REPLACE without body lets the original flow unprocessed", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			script: byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				c := common()
				c.Status = extprocv3.CommonResponse_CONTINUE_AND_REPLACE
				return []*extprocv3.ProcessingResponse{reply(req, c)}, nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", rh}, upstreams: 1, upBody: ptr(`{"a":1}`)},
		// body replace and content-length
		matrixCase{name: "BUFFERED+SEND replace with content-length fixed", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			script:    byKind(map[string]H{"req_body": with(setBody("12345678"), setHdr("content-length", "8"))}),
			upstreams: 1, upBody: ptr("12345678"), status: 200,
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "CL", e.upstream()[0].ContentLength, int64(8)) }},
		matrixCase{name: "BUFFERED+SEND replace with content-length removed", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			script:    byKind(map[string]H{"req_body": with(setBody("12345678"), rmHdr("content-length"))}),
			upstreams: 1, upBody: ptr("12345678"), status: 200},
		matrixCase{name: "BUFFERED+SEND replace without fix is 500", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			script:    byKind(map[string]H{"req_body": with(setBody("12345678"))}),
			upstreams: 0, status: 500, details: "mismatch_between_content_length_and_the_length_of_the_mutated_body"},
		matrixCase{name: "BUFFERED+SEND clear_body counts as length 0", opts: envOpts{filter: mode(BodyBuffered, BodyNone)},
			script:    byKind(map[string]H{"req_body": with(clearBody())}),
			upstreams: 0, status: 500, details: "mismatch_between_content_length_and_the_length_of_the_mutated_body"},
		matrixCase{name: "BUFFERED+SEND mismatch is an error even with failure_mode_allow",
			opts:      envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered}, FailureModeAllow: true}},
			script:    byKind(map[string]H{"req_body": with(setBody("12345678"))}),
			upstreams: 0, status: 500},
		matrixCase{name: "STREAMED replace needs no content-length fix", opts: envOpts{filter: mode(BodyStreamed, BodyNone)},
			script:  byKind(map[string]H{"req_body": with(setBody("12345678"))}),
			request: chunked([]string{"ab", ""}, []int{1, 2}, nil), upstreams: 1, upBody: ptr("1234567812345678"), status: 200}, // each reply replaces only its own chunk
		matrixCase{name: "content-length set in STREAMED mode is skipped", opts: envOpts{filter: mode(BodyStreamed, BodyNone)},
			script:  byKind(map[string]H{"req_headers": with(setHdr("content-length", "99"))}),
			request: chunked([]string{"ab", ""}, []int{1, 2}, nil), upstreams: 1, upBody: ptr("ab"), status: 200},
		matrixCase{name: "buffer limit on request is 413", opts: envOpts{filter: mode(BodyBuffered, BodyNone), limit: 4},
			request: postTo("/mcp/files", "0123456789"), status: 413, upstreams: 0, details: "request_payload_too_large"},
	)
	runMatrix(t, cases)
}

// TestMatrixResponsePath covers §9.5 for the response direction, mode_override and SSE.
func TestMatrixResponsePath(t *testing.T) {
	sseEvents := []string{"data: {\"a\"", ":1}\n\n", "data: {\"b\":2}\n\n"}
	sseAll := strings.Join(sseEvents, "")
	toStreamed := ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyStreamed}
	respCases := []matrixCase{
		{name: "NONE response passes with content-length", opts: envOpts{filter: mode(BodyNone, BodyNone)},
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false cl=36"}, status: 200, body: ptr(jsonResp), upstreams: 1,
			check: func(t *testing.T, e *env, got clientSaw) { eq(t, "client CL", got.Header.Get("Content-Length"), "36") }},
		{name: "BUFFERED response replaced with content-length fix", opts: envOpts{filter: mode(BodyNone, BodyBuffered)},
			script:     byKind(map[string]H{"resp_body": with(setBody("{}"), setHdr("content-length", "2"))}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false cl=36", `resp_body "` + strings.ReplaceAll(jsonResp, `"`, `\"`) + `" eos=true`},
			status:     200, body: ptr("{}"), upstreams: 1},
		{name: "BUFFERED response replaced without fix is 500", opts: envOpts{filter: mode(BodyNone, BodyBuffered)},
			script: byKind(map[string]H{"resp_body": with(setBody("{}"))}),
			status: 500, upstreams: 1, details: "mismatch_between_content_length_and_the_length_of_the_mutated_body"},
		{name: "buffer limit on response is 500", opts: envOpts{filter: mode(BodyNone, BodyBuffered), limit: 8},
			request: postTo("/mcp/files", "x"), status: 500, upstreams: 1, details: "response_payload_too_large"},
		{name: "response header SKIP + BUFFERED body", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseHeader: HeaderSkip, ResponseBody: BodyBuffered}}},
			script:     byKind(map[string]H{"resp_body": with(setBody("{}"))}),
			transcript: []string{"req_headers eos=false cl=7", `resp_body "` + strings.ReplaceAll(jsonResp, `"`, `\"`) + `" eos=true`},
			status:     200, body: ptr("{}"), upstreams: 1},
		{name: "response trailers SEND", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyStreamed, ResponseTrailer: HeaderSend}}, upstream: trailerUpstream},
			script:     byKind(map[string]H{"resp_trailers": with(setHdr("x-up-trailer", "t2"))}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false", `resp_body "{\"r\":1}" eos=false`, "resp_trailers"},
			status:     200, body: ptr(`{"r":1}`), upstreams: 1,
			check: func(t *testing.T, e *env, got clientSaw) {
				eq(t, "client trailer", got.Trailer.Get("X-Up-Trailer"), "t2")
			}},
		{name: "response trailers SKIP", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyBuffered}}, upstream: trailerUpstream},
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false", `resp_body "{\"r\":1}" eos=false`},
			status:     200, body: ptr(`{"r":1}`), upstreams: 1,
			check: func(t *testing.T, e *env, got clientSaw) {
				eq(t, "client trailer", got.Trailer.Get("X-Up-Trailer"), "t1")
			}},
		{name: "CONTINUE_AND_REPLACE on response headers", opts: envOpts{filter: mode(BodyNone, BodyBuffered)},
			script: byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				c := common(setBody("local"))
				c.Status = extprocv3.CommonResponse_CONTINUE_AND_REPLACE
				return []*extprocv3.ProcessingResponse{reply(req, c)}, nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false cl=36"}, status: 200, body: ptr("local"), upstreams: 1},
		// mode_override
		{name: "mode_override BUFFERED→STREAMED with content-length removal (SSE split mid-event)",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true},
				upstreamFor: sse{events: sseEvents, tail: true}.handler},
			script: byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return overrideReply(req, toStreamed, rmHdr("content-length")), nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", `req_body "{\"a\":1}" eos=true`, "resp_headers 200 eos=false",
				`resp_body "data: {\"a\"" eos=false`, `resp_body ":1}\n\n" eos=false`, `resp_body "data: {\"b\":2}\n\n" eos=false`, `resp_body "" eos=true`},
			status: 200, body: ptr(sseAll), upstreams: 1},
		{name: "mode_override to STREAMED without content-length removal keeps the upstream content-length",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyBuffered}, AllowModeOverride: true}},
			script: byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return overrideReply(req, ProcessingMode{ResponseBody: BodyStreamed}), nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false cl=36", `resp_body "` + strings.ReplaceAll(jsonResp, `"`, `\"`) + `" eos=true`},
			status:     200, body: ptr(jsonResp), upstreams: 1,
			check: func(t *testing.T, e *env, got clientSaw) {
				eq(t, "client CL kept", got.Header.Get("Content-Length"), "36")
			}},
		{name: "mode_override ignored without allow_mode_override", opts: envOpts{filter: mode(BodyNone, BodyBuffered)},
			script: byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return overrideReply(req, ProcessingMode{ResponseBody: BodyNone}), nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false cl=36", `resp_body "` + strings.ReplaceAll(jsonResp, `"`, `\"`) + `" eos=true`}, upstreams: 1},
		{name: "mode_override allow-list hit",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true,
				AllowedOverrideModes: []ProcessingMode{toStreamed}}, upstreamFor: sse{events: []string{"data: 1\n\n"}, tail: true}.handler},
			script: byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return overrideReply(req, toStreamed, rmHdr("content-length")), nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", `req_body "{\"a\":1}" eos=true`, "resp_headers 200 eos=false", `resp_body "data: 1\n\n" eos=false`, `resp_body "" eos=true`},
			upstreams:  1, body: ptr("data: 1\n\n")},
		{name: "mode_override allow-list miss keeps BUFFERED",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true,
				AllowedOverrideModes: []ProcessingMode{{RequestBody: BodyNone, ResponseBody: BodyStreamed}}}, upstreamFor: sse{events: []string{"data: 1\n\n"}}.handler},
			script: byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return overrideReply(req, toStreamed, rmHdr("content-length")), nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", `req_body "{\"a\":1}" eos=true`, "resp_headers 200 eos=false", `resp_body "data: 1\n\n" eos=true`},
			upstreams:  1, body: ptr("data: 1\n\n")},
		{name: "mode_override on request_headers with unset request body mode turns it NONE",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true}},
			script: byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return overrideReply(req, ProcessingMode{ResponseBody: BodyStreamed}), nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false", `resp_body "` + strings.ReplaceAll(jsonResp, `"`, `\"`) + `" eos=true`},
			upstreams:  1, upBody: ptr(`{"a":1}`), body: ptr(jsonResp)},
		{name: "mode_override in a body reply is ignored",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true}},
			script: byKind(map[string]H{"req_body": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return overrideReply(req, ProcessingMode{}), nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", `req_body "{\"a\":1}" eos=true`, "resp_headers 200 eos=false cl=36", `resp_body "` + strings.ReplaceAll(jsonResp, `"`, `\"`) + `" eos=true`},
			upstreams:  1},
		// GET SSE stream much longer than message_timeout between events
		{name: "GET SSE stream outlives message_timeout between events",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, MessageTimeout: 200 * time.Millisecond},
				// between events the clock moves well past message_timeout
				upstreamFor: sse{events: []string{"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"}, tail: true,
					between: func(e *env, _ int) {
						// once the proxy has the previous reply (no timer armed)
						e.await("no reply awaited", e.clock.idle)
						e.clock.Advance(500 * time.Millisecond)
					}}.handler,
				routes: func(up *url.URL) []Route {
					return []Route{{Name: "files", PathPrefix: "/mcp/files", Upstream: up,
						Methods: map[string]*ProcessingMode{http.MethodGet: {RequestBody: BodyNone, ResponseBody: BodyStreamed}}}}
				}},
			request: get("/mcp/files", "Accept", "text/event-stream", "Last-Event-ID", "7"),
			transcript: []string{"req_headers eos=true", "resp_headers 200 eos=false", `resp_body "data: 1\n\n" eos=false`,
				`resp_body "data: 2\n\n" eos=false`, `resp_body "data: 3\n\n" eos=false`, `resp_body "" eos=true`},
			status: 200, body: ptr("data: 1\n\ndata: 2\n\ndata: 3\n\n"), upstreams: 1,
			check: func(t *testing.T, e *env, got clientSaw) {
				eq(t, "Last-Event-ID preserved", upHeader("Last-Event-Id")(t, e), "7")
				eq(t, "timeouts", e.proxy.Stats().MessageTimeouts, int64(0))
				eq(t, "cache-control", got.Header.Get("Cache-Control"), "no-cache")
			}},
		// ImmediateResponse in each phase
		{name: "ImmediateResponse on request body", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"req_body": respond(immediate(0, "denied"))}),
			status: 200, body: ptr("denied"), upstreams: 0,
			check: func(t *testing.T, e *env, got clientSaw) {
				eq(t, "text/plain default", got.Header.Get("Content-Type"), "text/plain")
			}},
		{name: "ImmediateResponse status <200 becomes 200", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"req_headers": respond(immediate(101, "x"))}), status: 200, body: ptr("x"), upstreams: 0},
		{name: "ImmediateResponse on response headers discards the upstream response", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"resp_headers": respond(immediate(451, "gone", "x-why", "policy"))}),
			status: 451, body: ptr("gone"), upstreams: 1,
			check: func(t *testing.T, e *env, got clientSaw) { eq(t, "header", got.Header.Get("X-Why"), "policy") }},
		{name: "ImmediateResponse on BUFFERED response body before downstream headers", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"resp_body": respond(immediate(200, `{"error":1}`, "content-type", "application/json"))}),
			status: 200, body: ptr(`{"error":1}`), upstreams: 1},
		{name: "ImmediateResponse mid-SSE resets the stream",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyStreamed}}, upstreamFor: sse{events: []string{"data: 1\n\n", "data: 2\n\n"}}.handler},
			script: func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				if isType(req, "resp_body") && strings.Contains(string(req.GetResponseBody().GetBody()), "2") {
					return []*extprocv3.ProcessingResponse{immediate(403, "no")}, nil
				}
				return cont(req), nil
			},
			reset: true, upstreams: 1, details: "blocked_by_test",
			check: func(t *testing.T, e *env, got clientSaw) {
				eq(t, "status already sent", got.Status, 200)
				eq(t, "first event delivered", got.Body, "data: 1\n\n")
			}},
	}
	// body-less responses (204, HEAD): headers with eos=true and nothing else, in every body mode
	for _, m := range []BodySendMode{BodyNone, BodyBuffered, BodyStreamed, BodyBufferedPartial, BodyGRPC} {
		headCL := " cl=36"
		if m == BodyStreamed || m == BodyBufferedPartial {
			headCL = "" // removed at encodeHeaders time in these modes
		}
		respCases = append(respCases, matrixCase{
			name: "bodyless 204 response/" + m.String(), opts: envOpts{filter: mode(BodyNone, m), upstream: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Mcp-Session-Id", "s")
				w.WriteHeader(http.StatusNoContent)
			}},
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 204 eos=true"}, status: 204, body: ptr(""), upstreams: 1,
		}, matrixCase{
			name: "HEAD response/" + m.String(), opts: envOpts{filter: mode(BodyNone, m)},
			request: func(e *env) clientSaw {
				req, _ := http.NewRequest(http.MethodHead, e.front.URL+"/mcp/files", nil)
				return e.do(req)
			},
			transcript: []string{"req_headers eos=true", "resp_headers 200 eos=true" + headCL}, status: 200, body: ptr(""), upstreams: 1,
		})
	}
	escaped := `"` + strings.ReplaceAll(jsonResp, `"`, `\"`) + `"`
	respCases = append(respCases,
		matrixCase{name: "GRPC response mode behaves as NONE", opts: envOpts{filter: mode(BodyNone, BodyGRPC)},
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false cl=36"}, status: 200, body: ptr(jsonResp), upstreams: 1},
		matrixCase{name: "STREAMED response: content-length removed, chunk replaced", opts: envOpts{filter: mode(BodyNone, BodyStreamed)},
			script:     byKind(map[string]H{"resp_body": with(setBody("R"))}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false", "resp_body " + escaped + " eos=true"},
			status:     200, body: ptr("R"), upstreams: 1,
			check: func(t *testing.T, e *env, g clientSaw) { eq(t, "client CL", g.Header.Get("Content-Length"), "") }},
		matrixCase{name: "BUFFERED_PARTIAL response over limit: partial then unprocessed rest", opts: envOpts{filter: mode(BodyNone, BodyBufferedPartial), limit: 4,
			upstreamFor: sse{events: []string{"data: 1\n\n", "data: 2\n\n"}}.handler},
			script:     byKind(map[string]H{"resp_body": with(setBody("P;"))}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false", `resp_body "data: 1\n\n" eos=false`},
			status:     200, body: ptr("P;data: 2\n\n"), upstreams: 1},
		matrixCase{name: "FULL_DUPLEX response", opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyFullDuplex, ResponseTrailer: HeaderSend}}},
			script: byKind(map[string]H{"resp_body": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				b := req.GetResponseBody()
				if !b.GetEndOfStream() {
					return nil, nil
				}
				return []*extprocv3.ProcessingResponse{{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
					BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{StreamedResponse: &extprocv3.StreamedBodyResponse{
						Body: []byte("server-made"), EndOfStream: true}}}}}}}}, nil
			}}),
			transcript: []string{"req_headers eos=false cl=7", "resp_headers 200 eos=false", "resp_body " + escaped + " eos=true"},
			status:     200, body: ptr("server-made"), upstreams: 1},
	)
	runMatrix(t, respCases)
}

// TestMatrixErrors covers spurious and empty replies, timeouts, server
// closes and gRPC errors, with and without failure_mode_allow.
func TestMatrixErrors(t *testing.T) {
	fma := func(f FilterConfig) FilterConfig { f.FailureModeAllow = true; return f }
	short := FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, MessageTimeout: 150 * time.Millisecond}
	wrongType := func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}}, nil
	}
	empty := respond(&extprocv3.ProcessingResponse{})
	streamedImmediate := respond(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_StreamedImmediateResponse{StreamedImmediateResponse: &extprocv3.StreamedImmediateResponse{}}})
	// overrideThen answers a body message with override_message_timeout d,
	// waits until the proxy counted it (received or ignored), then runs the
	// rest (clock advances, the real reply).
	overrideThen := func(d time.Duration, ignored bool, rest func(req *extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse) H {
		return func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
			counted := act(func(e *env) {
				e.await("override counted", func() bool {
					st := e.proxy.Stats()
					if ignored {
						return st.OverrideMessageTimeoutIgnore == 1
					}
					return st.OverrideMessageTimeoutRecv == 1
				})
			})
			return append([]*extprocv3.ProcessingResponse{{OverrideMessageTimeout: durationpb.New(d)}, counted}, rest(req)...), nil
		}
	}
	// timeout: no reply; the clock moves past message_timeout (150ms).
	timeout := respond(advance(200 * time.Millisecond))
	cases := []matrixCase{
		{name: "wrong reply type is spurious → 500", opts: envOpts{filter: bufferedBoth}, script: byKind(map[string]H{"req_headers": wrongType}),
			status: 500, upstreams: 0, details: "spurious_message",
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "spurious", e.proxy.Stats().SpuriousMsgsReceived, int64(1))
			}},
		{name: "wrong reply type with failure_mode_allow continues unprocessed", opts: envOpts{filter: fma(bufferedBoth)}, script: byKind(map[string]H{"req_headers": wrongType}),
			status: 200, upstreams: 1, upBody: ptr(`{"a":1}`), body: ptr(jsonResp),
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "failure_mode_allowed", e.proxy.Stats().FailureModeAllowed, int64(1))
			}},
		{name: "empty reply is unhandled → 500", opts: envOpts{filter: bufferedBoth}, script: byKind(map[string]H{"req_body": empty}),
			status: 500, upstreams: 0, details: "unhandled_message"},
		{name: "extra unsolicited body reply is spurious", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				// a response_body reply while nothing in the response direction awaits one
				return append(cont(req), &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}), nil
			}}), status: 500, upstreams: 0, details: "spurious_message"},
		{name: "StreamedImmediateResponse is not implemented → spurious", opts: envOpts{filter: bufferedBoth}, script: byKind(map[string]H{"req_headers": streamedImmediate}),
			status: 500, upstreams: 0},
		{name: "response-phase wrong type → 500 before downstream headers", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"resp_headers": func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return []*extprocv3.ProcessingResponse{{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}}, nil
			}}),
			status: 500, upstreams: 1, details: "spurious_message"},
		{name: "trailers reply without trailers pending is spurious", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"req_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return []*extprocv3.ProcessingResponse{{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}}}, nil
			}}),
			status: 500, upstreams: 0, details: "spurious_message"},
		{name: "message timeout → 504", opts: envOpts{filter: short}, script: byKind(map[string]H{"req_body": timeout}),
			status: 504, upstreams: 0, details: "ext_proc_error_per-message_timeout_exceeded",
			check: func(t *testing.T, e *env, _ clientSaw) { eq(t, "timeouts", e.proxy.Stats().MessageTimeouts, int64(1)) }},
		{name: "message timeout with failure_mode_allow continues", opts: envOpts{filter: fma(short)}, script: byKind(map[string]H{"req_body": timeout}),
			status: 200, upstreams: 1, upBody: ptr(`{"a":1}`)},
		{name: "override_message_timeout extends the wait",
			opts: envOpts{filter: func() FilterConfig { f := short; f.MaxMessageTimeout = time.Second; return f }()},
			// reply 200ms (fake) after the override: later than message_timeout, within the override
			script: byKind(map[string]H{"req_body": overrideThen(time.Second, false, func(req *extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
				return append([]*extprocv3.ProcessingResponse{advance(200 * time.Millisecond)}, cont(req)...)
			})}),
			status: 200, upstreams: 1,
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "override received", e.proxy.Stats().OverrideMessageTimeoutRecv, int64(1))
			}},
		{name: "override_message_timeout then slow reply within the new timeout",
			opts: envOpts{filter: func() FilterConfig { f := short; f.MaxMessageTimeout = time.Second; return f }()},
			script: byKind(map[string]H{"req_body": overrideThen(500*time.Millisecond, false, func(*extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
				return []*extprocv3.ProcessingResponse{advance(200 * time.Millisecond), advance(400 * time.Millisecond)}
			})}),
			// the real reply never comes: the timeout fires after the overridden 500ms, not at 150ms
			status: 504, upstreams: 0,
			check: func(t *testing.T, e *env, _ clientSaw) {
				ev := e.lastTrace().Events()
				var sent, local time.Time
				for _, x := range ev {
					if x.Kind == EventSent && x.Request.GetRequestBody() != nil {
						sent = x.Time
					}
					if x.Kind == EventLocalReply {
						local = x.Time
					}
				}
				if d := local.Sub(sent); d != 600*time.Millisecond {
					t.Errorf("timeout after %v; override not applied", d)
				}
			}},
		{name: "override_message_timeout above max is ignored",
			opts: envOpts{filter: func() FilterConfig { f := short; f.MaxMessageTimeout = 100 * time.Millisecond; return f }()},
			script: byKind(map[string]H{"req_body": overrideThen(time.Second, true, func(*extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
				return []*extprocv3.ProcessingResponse{advance(200 * time.Millisecond)}
			})}),
			status: 504, upstreams: 0,
			check: func(t *testing.T, e *env, _ clientSaw) {
				eq(t, "ignored", e.proxy.Stats().OverrideMessageTimeoutIgnore, int64(1))
			}},
		{name: "server return nil mid-stream → continue unmodified", opts: envOpts{filter: bufferedBoth},
			script: byKind(map[string]H{"req_body": func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) { return nil, errReturnNil }}),
			status: 200, upstreams: 1, upBody: ptr(`{"a":1}`), body: ptr(jsonResp),
			transcript: []string{"req_headers eos=false cl=7", `req_body "{\"a\":1}" eos=true`}},
		{name: "server status.Error → status_on_error", opts: envOpts{filter: func() FilterConfig { f := bufferedBoth; f.StatusOnError = 503; return f }()},
			script: byKind(map[string]H{"req_body": func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return nil, statusErr(codes.Internal, "boom")
			}}),
			status: 503, upstreams: 0, details: "ext_proc_error_gRPC_error_13{boom}"},
		{name: "server status.Error with failure_mode_allow continues", opts: envOpts{filter: fma(bufferedBoth)},
			script: byKind(map[string]H{"req_body": func(*extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return nil, statusErr(codes.Internal, "boom")
			}}),
			status: 200, upstreams: 1, upBody: ptr(`{"a":1}`)},
		{name: "server status.Error on SSE response after headers sent → reset",
			opts: envOpts{filter: FilterConfig{ProcessingMode: ProcessingMode{ResponseBody: BodyStreamed}}, upstreamFor: sse{events: []string{"data: 1\n\n", "data: 2\n\n"}}.handler},
			script: func(_ int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				if isType(req, "resp_body") && strings.Contains(string(req.GetResponseBody().GetBody()), "2") {
					return nil, statusErr(codes.Internal, "late")
				}
				return cont(req), nil
			},
			reset: true, upstreams: 1},
		{name: "processor unreachable → 500", opts: envOpts{filter: bufferedBoth, noProc: true}, status: 500, upstreams: 0},
		{name: "processor unreachable with failure_mode_allow → continue", opts: envOpts{filter: fma(bufferedBoth), noProc: true}, status: 200, upstreams: 1, upBody: ptr(`{"a":1}`)},
		{name: "replies after processing complete are ignored", opts: envOpts{filter: mode(BodyNone, BodyNone)},
			script: byKind(map[string]H{"resp_headers": func(req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
				return append(cont(req), cont(req)...), nil
			}}),
			status: 200, upstreams: 1, body: ptr(jsonResp)},
	}
	runMatrix(t, cases)
}

func waitForOrDump(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // safety net only
	for len(e.proc.requests()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("processor saw only %d of %d messages: %q", len(e.proc.requests()), n, renderAll(e.proc.requests()))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mergeRespTail folds a trailing `resp_body "" eos=true` into the previous
// response chunk: whether the upstream's end of stream arrives with the last
// data or in its own read depends on scheduling (the request side pins the
// empty final chunk deterministically with gated writes).
func mergeRespTail(in []string) []string {
	n := len(in)
	if n >= 2 && in[n-1] == `resp_body "" eos=true` && strings.HasPrefix(in[n-2], "resp_body ") && strings.HasSuffix(in[n-2], " eos=false") {
		out := append([]string(nil), in[:n-1]...)
		out[n-2] = strings.TrimSuffix(out[n-2], "eos=false") + "eos=true"
		return out
	}
	return in
}
