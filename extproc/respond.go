package extproc

import (
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// Pre-built replies that carry no per-request data are shared; protobuf
// marshalling does not mutate them.
var (
	continueRequestHeaders  = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}
	continueResponseHeaders = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}
	continueRequestBody     = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}
	continueResponseBody    = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}
	continueRequestTrailers = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}}
	continueRespTrailers    = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: &extprocv3.TrailersResponse{}}}

	// holdResponseChunk clears a STREAMED response chunk whose bytes are
	// held back (an SSE event not yet complete): the most common mutation
	// of an SSE result split across chunks.
	holdResponseChunk = replaceResponseBody(nil, false)

	// sseOverride switches the response body to STREAMED for text/event-stream.
	// Both body modes are set because Envoy takes them literally (unset = NONE),
	// and content-length is removed because Envoy does not do it retroactively.
	sseOverride = &extprocv3.ProcessingResponse{
		Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{
			Response: &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{RemoveHeaders: []string{"content-length"}}},
		}},
		ModeOverride: &filterv3.ProcessingMode{
			RequestBodyMode:  filterv3.ProcessingMode_BUFFERED,
			ResponseBodyMode: filterv3.ProcessingMode_STREAMED,
		},
	}
)

func header(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}}
}

// immediate ends the HTTP request with a local reply carrying a JSON body.
func immediate(status int, body []byte, details string) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{
				header("content-type", "application/json"),
				header("cache-control", "no-store"),
			}},
			Body:    body,
			Details: details,
		},
	}}
}

// replaceBody builds a buffered body reply that swaps the body and keeps
// content-length consistent (Envoy fails the request with 500 otherwise).
func replaceRequestBody(body []byte, extra ...*corev3.HeaderValueOption) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
		Response: bodyMutation(body, true, extra...),
	}}}
}

func replaceResponseBody(body []byte, fixLength bool) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{
		Response: bodyMutation(body, fixLength),
	}}}
}

func bodyMutation(body []byte, fixLength bool, extra ...*corev3.HeaderValueOption) *extprocv3.CommonResponse {
	cr := &extprocv3.CommonResponse{}
	if len(body) == 0 {
		cr.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}
	} else {
		cr.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}}
	}
	if fixLength || len(extra) > 0 {
		hm := &extprocv3.HeaderMutation{}
		if fixLength {
			hm.SetHeaders = append(hm.SetHeaders, header("content-length", strconv.Itoa(len(body))))
		}
		hm.SetHeaders = append(hm.SetHeaders, extra...)
		cr.HeaderMutation = hm
	}
	return cr
}
