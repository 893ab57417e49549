package extproc

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/portcullis-mcp/portcullis/mcp"
)

// reqHeaders are the request headers the processor reads. Envoy lower-cases
// keys and fills raw_value only; value is read as a fallback for older
// clients.
type reqHeaders struct {
	method, path, authority string
	contentType             string
	contentLength           string
	protocolVersion         string
	sessionID               string
	mcpMethod, mcpName      string
	traceparent, tracestate string
	requestID               string
	route                   string
	origin                  string
	// dupCritical is set when a header whose meaning the gateway relies on
	// appears more than once (a smuggling attempt).
	dupCritical string
}

func headerValue(h *corev3.HeaderValue) string {
	if len(h.RawValue) > 0 {
		return string(h.RawValue)
	}
	return h.Value
}

// parseRequestHeaders reads the request headers the processor uses and
// returns them also as a map, first value per name (what the identity
// resolver and the credential rules read). Each value is converted to a
// string once and shared by both.
func parseRequestHeaders(hm *corev3.HeaderMap) (reqHeaders, map[string]string) {
	var r reqHeaders
	all := make(map[string]string, len(hm.GetHeaders()))
	if hm == nil {
		return r, all
	}
	seen := uint16(0)
	mark := func(bit uint16, name string) {
		if seen&bit != 0 && r.dupCritical == "" {
			r.dupCritical = name
		}
		seen |= bit
	}
	for _, h := range hm.Headers {
		v := headerValue(h)
		if _, dup := all[h.Key]; !dup {
			all[h.Key] = v
		}
		switch h.Key {
		case ":method":
			r.method = v
		case ":path":
			r.path = v
		case ":authority":
			r.authority = v
		case "content-type":
			mark(1, h.Key)
			r.contentType = v
		case "content-length":
			mark(2, h.Key)
			r.contentLength = v
		case "mcp-protocol-version":
			mark(4, h.Key)
			r.protocolVersion = v
		case "mcp-session-id":
			mark(8, h.Key)
			r.sessionID = v
		case "mcp-method":
			mark(16, h.Key)
			r.mcpMethod = v
		case "mcp-name":
			mark(32, h.Key)
			r.mcpName = v
		case "traceparent":
			r.traceparent = v
		case "tracestate":
			r.tracestate = v
		case "x-request-id":
			r.requestID = v
		case "origin":
			mark(128, h.Key)
			r.origin = v
		case "x-portcullis-route":
			mark(64, h.Key)
			r.route = v
		}
	}
	return r, all
}

type respHeaders struct {
	status          string
	contentType     string
	contentEncoding string
	sessionID       string
}

func parseResponseHeaders(hm *corev3.HeaderMap) respHeaders {
	var r respHeaders
	if hm == nil {
		return r
	}
	for _, h := range hm.Headers {
		switch h.Key {
		case ":status":
			r.status = headerValue(h)
		case "content-type":
			r.contentType = headerValue(h)
		case "mcp-session-id":
			r.sessionID = headerValue(h)
		case "content-encoding":
			if r.contentEncoding != "" {
				r.contentEncoding += ","
			}
			r.contentEncoding += headerValue(h)
		}
	}
	return r
}

// mediaType returns the lower-cased media type without parameters.
func mediaType(ct string) string {
	for i := 0; i < len(ct); i++ {
		if ct[i] == ';' {
			ct = ct[:i]
			break
		}
	}
	// trim spaces and lower-case ASCII without allocating when already clean
	start, end := 0, len(ct)
	for start < end && (ct[start] == ' ' || ct[start] == '\t') {
		start++
	}
	for end > start && (ct[end-1] == ' ' || ct[end-1] == '\t') {
		end--
	}
	ct = ct[start:end]
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c >= 'A' && c <= 'Z' {
			b := []byte(ct)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return ct
}

// forwardRequestHeaders is the one place request headers bound upstream are
// rewritten. Accept-Encoding is pinned to identity (acceptIdentity) so the
// upstream answers with bodies the gateway can inspect (issue 11 #1); a
// response that is encoded anyway is refused in responseHeaders. The reply
// is shared (it carries no per-request data); code that adds per-request
// mutations builds its own and calls acceptIdentity on it.
func (st *stream) forwardRequestHeaders() *extprocv3.ProcessingResponse {
	return identityRequestHeaders
}

var identityRequestHeaders = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
	Response: &extprocv3.CommonResponse{HeaderMutation: acceptIdentity(&extprocv3.HeaderMutation{})},
}}}

// acceptIdentity adds accept-encoding: identity to a request header
// mutation and returns it.
func acceptIdentity(hm *extprocv3.HeaderMutation) *extprocv3.HeaderMutation {
	hm.SetHeaders = append(hm.SetHeaders, header("accept-encoding", "identity"))
	return hm
}

// deferredRefusal is a refusal decided on request headers, sent when the
// body arrives so the error carries the request's JSON-RPC id.
type deferredRefusal struct {
	status  int
	code    int
	msg     string
	data    *mcp.ErrorData
	details string
	// body, when set, builds the whole reply from the request body
	// (replies that are not plain errors, such as a consent request).
	body func(raw []byte) []byte
}

// refuseHeaders refuses a request on its headers. A POST with a body is
// answered when the body arrives (nothing is forwarded in between: the
// request body is buffered), so the error keeps the request's id.
func (st *stream) refuseHeaders(h *extprocv3.HttpHeaders, status, code int, msg string, data *mcp.ErrorData, details string) *extprocv3.ProcessingResponse {
	if st.req.method == "POST" && !h.GetEndOfStream() {
		st.deferred = &deferredRefusal{status: status, code: code, msg: msg, data: data, details: details}
		st.httpMethod = "POST"
		return continueRequestHeaders
	}
	return st.refuse(status, "", code, msg, data, details)
}

// identityEncoding reports whether a content-encoding header value leaves
// the body as sent ("", "identity").
func identityEncoding(v string) bool {
	v = strings.TrimSpace(v)
	return v == "" || strings.EqualFold(v, "identity")
}

// detailsBadProtocolVersion marks the refusal of an unknown
// MCP-Protocol-Version; its JSON-RPC code depends on the body's era
// (mcp.UnsupportedVersionCode), so it is chosen when the body arrives.
const detailsBadProtocolVersion = "portcullis_bad_protocol_version"
