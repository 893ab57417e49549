package benchharness

import (
	"bytes"
	"errors"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"

	"github.com/portcullis-mcp/portcullis/extproc"
	"github.com/portcullis-mcp/portcullis/mcp"
)

// HoldProcessor is the null processor plus the SSE handling any processor
// that inspects events must do, and nothing else: it switches an
// text/event-stream response to STREAMED (removing content-length, as
// Portcullis does), holds an event split across chunks (the chunk is
// cleared) and re-sends it whole once complete. It parses no JSON and
// decides nothing. Its cost over the null processor is the floor of the SSE
// trust plane's: the extra gRPC messages and body bytes are inherent to
// holding uninspected bytes back, the rest is Portcullis's own work.
type HoldProcessor struct {
	extprocv3.UnimplementedExternalProcessorServer
}

// Process implements [extprocv3.ExternalProcessorServer.Process].
func (HoldProcessor) Process(s extprocv3.ExternalProcessor_ProcessServer) error {
	return extproc.Serve(s, &holdStream{}, nil)
}

// Register registers the hold processor on g.
func (h HoldProcessor) Register(g *grpc.Server) { extprocv3.RegisterExternalProcessorServer(g, h) }

var (
	holdHeaders    = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}
	holdReqBody    = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}
	holdRespHdrs   = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}
	holdRespBody   = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}
	holdSSEHeaders = &extprocv3.ProcessingResponse{
		Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{
			Response: &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{RemoveHeaders: []string{"content-length"}}},
		}},
		ModeOverride: &filterv3.ProcessingMode{
			RequestBodyMode:  filterv3.ProcessingMode_BUFFERED,
			ResponseBodyMode: filterv3.ProcessingMode_STREAMED,
		},
	}
)

type holdStream struct {
	sse    bool
	parser mcp.SSEParser
}

func (h *holdStream) Handle(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, bool, error) {
	switch r := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return holdHeaders, false, nil
	case *extprocv3.ProcessingRequest_RequestBody:
		return holdReqBody, false, nil
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		for _, hv := range r.ResponseHeaders.GetHeaders().GetHeaders() {
			if hv.GetKey() == "content-type" {
				if bytes.HasPrefix(hv.GetRawValue(), []byte("text/event-stream")) {
					h.sse = true
					return holdSSEHeaders, false, nil
				}
			}
		}
		return holdRespHdrs, false, nil
	case *extprocv3.ProcessingRequest_ResponseBody:
		if !h.sse {
			return holdRespBody, false, nil
		}
		chunk := r.ResponseBody.GetBody()
		events, err := h.parser.Feed(chunk)
		if err != nil {
			return nil, false, err
		}
		var out []byte
		if len(events) == 1 {
			out = events[0].Raw // as Portcullis: a lone event is not copied again
		} else {
			for _, ev := range events {
				out = append(out, ev.Raw...)
			}
		}
		if len(h.parser.Pending()) == 0 && len(out) == len(chunk) {
			return holdRespBody, false, nil // the chunk is whole events: forwarded as it is
		}
		bm := &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}
		if len(out) > 0 {
			bm = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: out}}
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{
			Response: &extprocv3.CommonResponse{BodyMutation: bm},
		}}}, false, nil
	case *extprocv3.ProcessingRequest_RequestTrailers, *extprocv3.ProcessingRequest_ResponseTrailers:
		return extproc.NullProcessor{}.Handle(req)
	}
	return nil, false, errors.New("unsupported ProcessingRequest type")
}

func (h *holdStream) Close() {}
