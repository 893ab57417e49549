package scriptstream

import (
	"context"
	"io"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
)

// Stream replays Script on Recv. The embedded grpc.ServerStream is nil:
// only Context, Send and Recv may be called.
type Stream struct {
	grpc.ServerStream
	Ctx    context.Context
	Script []*extprocv3.ProcessingRequest
	i      int
}

// New returns a stream that replays script under a background context.
func New(script []*extprocv3.ProcessingRequest) *Stream {
	return &Stream{Ctx: context.Background(), Script: script}
}

func (s *Stream) Context() context.Context                 { return s.Ctx }
func (s *Stream) Send(*extprocv3.ProcessingResponse) error { return nil }
func (s *Stream) Recv() (*extprocv3.ProcessingRequest, error) {
	if s.i == len(s.Script) {
		return nil, io.EOF
	}
	s.i++
	return s.Script[s.i-1], nil
}
