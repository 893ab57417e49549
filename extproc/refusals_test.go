package extproc

import (
	"context"
	"strconv"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/portcullis-mcp/portcullis/audit"
	"github.com/portcullis-mcp/portcullis/mcp"
)

// drive sends msgs through one stream without gRPC, as Envoy would, and
// returns the replies (stopping at a local reply or a stream error).
func (h *harness) drive(t *testing.T, msgs ...*extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	t.Helper()
	st := h.srv.newStream(context.Background())
	defer st.finish()
	var out []*extprocv3.ProcessingResponse
	for _, m := range msgs {
		r, err := st.safeHandle(m)
		if err != nil {
			return out // the stream is reset (fail closed)
		}
		out = append(out, r)
		if st.finished {
			break
		}
	}
	return out
}

func reqHeadersRaw(eos bool, kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: hdrs(eos, kv...)}}
}

func respHeadersRaw(kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: hdrs(false, kv...)}}
}

// Issue 10/11: refusals made before a message is decided (framing, parsing,
// headers, an upstream's malformed or encoded answer) leave exactly one
// content-free outcome, and its audit record, metric and observers agree.
func TestProtocolRefusalsRecordedOnce(t *testing.T) {
	const ping = `{"jsonrpc":"2.0","id":5,"method":"ping"}`
	const call = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"pii:secretvalue"}}}`
	post := func(kv ...string) *extprocv3.ProcessingRequest { return reqHeadersMsg(kv...) }
	big := `{"jsonrpc":"2.0","id":5,"method":"ping","params":{"pad":"` + strings.Repeat("x", 5000) + `"}}`
	for _, tc := range []struct {
		name   string
		msgs   []*extprocv3.ProcessingRequest
		plane  audit.Plane
		rule   string
		code   int
		rpcID  string
		method string
	}{
		{name: "malformed JSON", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(`{"jsonrpc":"2.0","id":5,`)},
			plane: audit.PlaneRequest, rule: "protocol:bad-json", code: mcp.CodeParseError},
		{name: "duplicate key", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(`{"jsonrpc":"2.0","id":5,"method":"ping","method":"tools/call"}`)},
			plane: audit.PlaneRequest, rule: "protocol:duplicate-key", code: mcp.CodeParseError},
		{name: "case-variant key", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(`{"jsonrpc":"2.0","id":5,"method":"ping","METHOD":"tools/call"}`)},
			plane: audit.PlaneRequest, rule: "protocol:case-variant-key", code: mcp.CodeParseError},
		{name: "invalid JSON-RPC", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(`{"jsonrpc":"1.0","id":5,"method":"ping"}`)},
			plane: audit.PlaneRequest, rule: "protocol:invalid-jsonrpc", code: mcp.CodeInvalidRequest, rpcID: "5"},
		{name: "unsupported protocol version keeps the id", msgs: []*extprocv3.ProcessingRequest{post("mcp-protocol-version", "1999-01-01"), reqBodyMsg(ping)},
			plane: audit.PlaneRequest, rule: "protocol:unsupported-version", code: mcp.CodeInvalidRequest, rpcID: "5"},
		{name: "missing Mcp-Method", msgs: []*extprocv3.ProcessingRequest{post("mcp-protocol-version", "2026-07-28"), reqBodyMsg(ping)},
			plane: audit.PlaneRequest, rule: "protocol:header-mismatch", code: mcp.CodeHeaderMismatch, rpcID: "5"},
		{name: "body over the limit", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(big)},
			plane: audit.PlaneRequest, rule: "protocol:body-too-large", code: mcp.CodeInvalidRequest, rpcID: "5"},
		{name: "content-length over the limit", msgs: []*extprocv3.ProcessingRequest{post("content-length", "99999")},
			plane: audit.PlaneRequest, rule: "protocol:body-too-large", code: mcp.CodeInvalidRequest},
		{name: "unsupported content type", msgs: []*extprocv3.ProcessingRequest{reqHeadersRaw(false, ":method", "POST", ":path", "/mcp/files", "content-type", "text/plain")},
			plane: audit.PlaneRequest, rule: "protocol:bad-content-type", code: mcp.CodeInvalidRequest},
		{name: "GET with a body", msgs: []*extprocv3.ProcessingRequest{reqHeadersRaw(false, ":method", "GET", ":path", "/mcp/files")},
			plane: audit.PlaneRequest, rule: "protocol:unexpected-body", code: mcp.CodeInvalidRequest},
		{name: "tools/call arguments not an object", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"read_file","arguments":[1]}}`)},
			plane: audit.PlaneRequest, rule: "protocol:invalid-params", code: mcp.CodeInvalidParams, rpcID: "5", method: "tools/call"},
		{name: "encoded response", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(ping),
			respHeadersRaw(":status", "200", "content-type", "application/json", "content-encoding", "gzip")},
			plane: audit.PlaneResult, rule: "protocol:encoded-response", code: mcp.CodeInternalError, rpcID: "5", method: "ping"},
		{name: "upstream response with a case-variant key", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(ping),
			respHeadersMsg("application/json"), respBodyMsg(`{"jsonrpc":"2.0","id":5,"result":{},"Result":{}}`, true)},
			plane: audit.PlaneResult, rule: "protocol:case-variant-key", code: mcp.CodeInternalError, rpcID: "5", method: "ping"},
		{name: "upstream unsupported content type", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(ping),
			respHeadersMsg("text/plain"), respBodyMsg(`hello`, true)},
			plane: audit.PlaneResult, rule: "protocol:bad-content-type", code: mcp.CodeInternalError, rpcID: "5", method: "ping"},
		{name: "upstream response to nothing sent", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(ping),
			respHeadersMsg("application/json"), respBodyMsg(`{"jsonrpc":"2.0","id":6,"result":{}}`, true)},
			plane: audit.PlaneResult, rule: "protocol:unsolicited-response", code: mcp.CodeInternalError, rpcID: "6"},
		{name: "SSE event over the limit", msgs: []*extprocv3.ProcessingRequest{post(), reqBodyMsg(ping),
			respHeadersMsg("text/event-stream"), respBodyMsg("data: "+strings.Repeat("x", 3000), false)},
			plane: audit.PlaneResult, rule: "protocol:sse-event-too-large", code: mcp.CodeInternalError, rpcID: "5", method: "ping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.drive(t, tc.msgs...)
			var refusals []Outcome
			for _, o := range h.obs.got {
				if o.Decision == audit.DecisionBlock {
					refusals = append(refusals, o)
				}
			}
			if len(refusals) != 1 {
				t.Fatalf("%d refusal outcomes, want 1: %+v", len(refusals), h.obs.got)
			}
			o := refusals[0]
			if o.Plane != tc.plane || strings.Join(o.Rules, ",") != tc.rule || o.ErrorType != strconv.Itoa(tc.code) || o.RPCID != tc.rpcID || o.Method != tc.method {
				t.Errorf("outcome %v %v rules=%v error=%s id=%q method=%q; want %v %s %d id=%q method=%q",
					o.Plane, o.Decision, o.Rules, o.ErrorType, o.RPCID, o.Method, tc.plane, tc.rule, tc.code, tc.rpcID, tc.method)
			}
			if len(h.aud.recs) != len(h.obs.got) {
				t.Fatalf("%d audit records for %d outcomes", len(h.aud.recs), len(h.obs.got))
			}
			for i, r := range h.aud.recs {
				ob := h.obs.got[i]
				if r.Decision != ob.Decision || r.Plane != ob.Plane || r.DecisionID != ob.DecisionID || r.ErrorType != ob.ErrorType ||
					strings.Join(r.Rules, ",") != strings.Join(ob.Rules, ",") {
					t.Errorf("audit record %d disagrees with its outcome: %+v vs %+v", i, r, ob)
				}
				if ob.Decision == audit.DecisionBlock && (r.Content != nil || r.ArgsDigest != "" || r.ResultDigest != "" || len(r.Findings) != 0) {
					t.Errorf("refusal record carries content: %+v", r)
				}
			}
			if m := h.metric("block", tc.plane.String()); m != 1 {
				t.Errorf("block metric on the %v plane = %v, want 1", tc.plane, m)
			}
		})
	}
}

// Refusals a decision already recorded (policy, trust plane, unknown
// server) and discovery (a request without a credential) are not recorded
// a second time.
func TestDecidedRefusalsNotRecordedTwice(t *testing.T) {
	h := newHarness(t)
	h.drive(t, reqHeadersRaw(false, ":method", "POST", ":path", "/mcp/nope", "content-type", "application/json"))
	h.drive(t, reqHeadersMsg(), reqBodyMsg(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_all"}}`))
	if len(h.obs.got) != 2 || len(h.aud.recs) != 2 {
		t.Fatalf("%d outcomes, %d records, want 2 each: %+v", len(h.obs.got), len(h.aud.recs), h.obs.got)
	}
	for _, o := range h.obs.got {
		if strings.HasPrefix(strings.Join(o.Rules, ","), "protocol:") {
			t.Errorf("decided refusal recorded again as a protocol refusal: %+v", o)
		}
	}
}

// parseRule's classification depends on mcp/jsondoc's error texts: pin it
// on real parse errors.
func TestParseRule(t *testing.T) {
	for body, want := range map[string]string{
		`{"jsonrpc":"2.0","id":1,"method":"ping","method":"ping"}`:           "protocol:duplicate-key",
		`{"jsonrpc":"2.0","id":1,"method":"ping","Method":"ping"}`:           "protocol:case-variant-key",
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":1}}`: "protocol:case-variant-key",
		`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":1,"A":2}}`:    "protocol:case-variant-key",
		`{"jsonrpc":"2.0",`:                           "protocol:bad-json",
		`{"jsonrpc":"2.0","id":null,"method":"ping"}`: "protocol:invalid-jsonrpc",
	} {
		_, _, perr := mcp.ParseBody([]byte(body), mcp.ParseOptions{MaxDepth: 16})
		if perr == nil {
			t.Errorf("%s parsed", body)
			continue
		}
		if got := parseRule(perr); got != want {
			t.Errorf("%s: %s (%s), want %s", body, got, perr.Msg, want)
		}
	}
}
