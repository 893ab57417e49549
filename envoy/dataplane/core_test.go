package dataplane

import (
	"bufio"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

var bufferedBoth = FilterConfig{ProcessingMode: ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyBuffered}, AllowModeOverride: true}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

// The lead's main path: BUFFERED request and response with header and body
// mutations and content-length fixed by the processor.
func TestBufferedMutations(t *testing.T) {
	e := newEnv(t, envOpts{filter: bufferedBoth}, func(i int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		switch {
		case isType(req, "req_headers"):
			return []*extprocv3.ProcessingResponse{reply(req, common(setHdr("x-from-headers", "1")))}, nil
		case isType(req, "req_body"):
			return []*extprocv3.ProcessingResponse{reply(req, common(setBody(`{"redacted":true}`), setHdr("content-length", "17"), setHdr("x-from-body", "2")))}, nil
		case isType(req, "resp_body"):
			return []*extprocv3.ProcessingResponse{reply(req, common(setBody(`{"ok":1}`), setHdr("content-length", "8"), setHdr("x-resp", "y")))}, nil
		}
		return cont(req), nil
	})
	got := e.post("/mcp/files/sub?x=1", `{"secret":"abc"}`, "Mcp-Session-Id", "s1", "Authorization", "Bearer t")
	eq(t, "status", got.Status, 200)
	eq(t, "client body", got.Body, `{"ok":1}`)
	eq(t, "client x-resp", got.Header.Get("X-Resp"), "y")
	eq(t, "transcript", renderAll(e.proc.requests()), []string{
		"req_headers eos=false cl=16", `req_body "{\"secret\":\"abc\"}" eos=true`,
		"resp_headers 200 eos=false cl=36", `resp_body "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}" eos=true`,
	})
	up := e.upstream()
	if len(up) != 1 {
		t.Fatalf("upstream saw %d requests", len(up))
	}
	u := up[0]
	eq(t, "upstream path", u.Path, "/mcp/sub")
	eq(t, "upstream query", u.Query, "x=1")
	eq(t, "upstream body", u.Body, `{"redacted":true}`)
	eq(t, "upstream content-length", u.ContentLength, int64(17))
	eq(t, "upstream headers", []string{u.Header.Get("X-From-Headers"), u.Header.Get("X-From-Body"), u.Header.Get("Mcp-Session-Id"), u.Header.Get("Authorization"), u.Header.Get("X-Forwarded-Proto")},
		[]string{"1", "2", "s1", "Bearer t", "http"})
	if u.Header.Get("X-Request-Id") == "" {
		t.Error("x-request-id not added")
	}
	eq(t, "upstream host", u.Host, strings.TrimPrefix(e.up.URL, "http://"))
	// first message: protocol_config and attributes
	first := e.proc.requests()[0]
	if pc := first.GetProtocolConfig(); pc == nil || pc.GetRequestBodyMode() != BodyBuffered || pc.GetResponseBodyMode() != BodyBuffered {
		t.Errorf("protocol_config = %v", pc)
	}
	if e.proc.requests()[1].GetProtocolConfig() != nil {
		t.Error("protocol_config repeated")
	}
	attrs := first.GetAttributes()["envoy.filters.http.ext_proc"].GetFields()
	if attrs["request.id"].GetStringValue() == "" || !strings.HasPrefix(attrs["source.address"].GetStringValue(), "127.0.0.1:") {
		t.Errorf("attributes = %v", attrs)
	}
	if first.GetMetadataContext() == nil {
		t.Error("metadata_context missing")
	}
	// headers are raw_value only, lower-case, pseudo-headers present
	h := first.GetRequestHeaders().GetHeaders()
	for _, hv := range h.GetHeaders() {
		if hv.GetValue() != "" || hv.GetKey() != strings.ToLower(hv.GetKey()) {
			t.Errorf("header %q: value %q", hv.GetKey(), hv.GetValue())
		}
	}
	for _, k := range []string{":authority", ":path", ":method", ":scheme", "x-request-id", "x-forwarded-proto", "mcp-session-id"} {
		if _, ok := hdrVal(h, k); !ok {
			t.Errorf("request headers lack %s", k)
		}
	}
	if v, _ := hdrVal(h, ":path"); v != "/mcp/files/sub?x=1" {
		t.Errorf(":path = %q", v)
	}
}

func TestBufferedContentLengthMismatch(t *testing.T) {
	e := newEnv(t, envOpts{filter: bufferedBoth}, func(i int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		if isType(req, "req_body") {
			return []*extprocv3.ProcessingResponse{reply(req, common(setBody(`{}`)))}, nil
		}
		return cont(req), nil
	})
	got := e.post("/mcp/files", `{"a":1}`)
	eq(t, "status", got.Status, 500)
	_, details, _ := e.lastTrace().LocalReply()
	eq(t, "details", details, "mismatch_between_content_length_and_the_length_of_the_mutated_body")
	eq(t, "upstream", len(e.upstream()), 0)
}

// SSE: BUFFERED filter, processor switches the response to STREAMED with
// mode_override and removes content-length; every chunk reaches the client
// before the upstream writes the next one.
func TestSSEModeOverrideStreamsEachChunk(t *testing.T) {
	next := make(chan struct{})
	e := newEnv(t, envOpts{filter: bufferedBoth, upstream: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
			w.(http.Flusher).Flush()
			<-next
		}
	}}, func(i int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		switch {
		case isType(req, "resp_headers"):
			r := reply(req, common(rmHdr("content-length")))
			r.ModeOverride = ProcessingMode{RequestBody: BodyBuffered, ResponseBody: BodyStreamed}.Proto()
			return []*extprocv3.ProcessingResponse{r}, nil
		case isType(req, "resp_body"):
			b := strings.ReplaceAll(string(req.GetResponseBody().GetBody()), "n", "m")
			return []*extprocv3.ProcessingResponse{reply(req, common(setBody(b)))}, nil
		}
		return cont(req), nil
	})
	req, _ := http.NewRequest(http.MethodPost, e.front.URL+"/mcp/files", strings.NewReader(`{"x":1}`))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	eq(t, "content-type", resp.Header.Get("Content-Type"), "text/event-stream")
	eq(t, "content-length", resp.ContentLength, int64(-1))
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "event", line, fmt.Sprintf("data: {\"m\":%d}\n", i))
		_, _ = br.ReadString('\n')
		next <- struct{}{}
	}
	var tail []string
	for _, s := range renderAll(e.proc.requests()) {
		if strings.HasPrefix(s, "resp_body") {
			tail = append(tail, s)
		}
	}
	eq(t, "first chunk", tail[0], `resp_body "data: {\"n\":0}\n\n" eos=false`)
}

func TestImmediateResponseOnRequestHeaders(t *testing.T) {
	e := newEnv(t, envOpts{filter: bufferedBoth}, func(i int, req *extprocv3.ProcessingRequest) ([]*extprocv3.ProcessingResponse, error) {
		return []*extprocv3.ProcessingResponse{immediate(403, `{"error":"no"}`, "content-type", "application/json")}, nil
	})
	got := e.post("/mcp/files", `{}`)
	eq(t, "status", got.Status, 403)
	eq(t, "body", got.Body, `{"error":"no"}`)
	eq(t, "content-type", got.Header.Get("Content-Type"), "application/json")
	eq(t, "upstream", len(e.upstream()), 0)
	_, details, _ := e.lastTrace().LocalReply()
	eq(t, "details", details, "blocked_by_test")
}
