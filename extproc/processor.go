package extproc

import (
	"errors"
	"io"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Processor handles the messages of one ext_proc stream (one HTTP exchange)
// in order. Portcullis's per-stream state machine is one; the benchmark's
// null processor is another, so both run in the same gRPC loop (Serve).
type Processor interface {
	// Handle returns the reply to one message. done reports that the
	// exchange ended (an ImmediateResponse was sent: Envoy sends no more).
	// An error ends the stream with a gRPC error (Envoy fails closed).
	Handle(req *extprocv3.ProcessingRequest) (resp *extprocv3.ProcessingResponse, done bool, err error)
	// Close releases what the exchange left open (spans of unanswered
	// calls); it is called once, when the stream ends.
	Close()
}

// PhaseFunc observes the time spent on one message (nil: not measured).
type PhaseFunc func(req *extprocv3.ProcessingRequest, d time.Duration)

// Serve runs the ext_proc loop of one gRPC stream with p: one reply per
// message, in order, until the client closes the stream or p is done.
func Serve(ps extprocv3.ExternalProcessor_ProcessServer, p Processor, phase PhaseFunc) error {
	defer p.Close()
	for {
		req, err := ps.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
				return nil
			}
			return err
		}
		var t0 time.Time
		if phase != nil {
			t0 = time.Now()
		}
		resp, done, err := p.Handle(req)
		if phase != nil {
			phase(req, time.Since(t0))
		}
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		if err := ps.Send(resp); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// Handle implements Processor for the gateway's per-stream state machine.
func (st *stream) Handle(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, bool, error) {
	if st.attrs == nil && len(req.Attributes) > 0 {
		st.attrs = req.Attributes
	}
	resp, err := st.safeHandle(req)
	if err != nil {
		// Fail closed. Envoy turns a non-OK status into status_on_error
		// (500), or resets an SSE stream already in flight.
		st.srv.logger.Warn("ext_proc stream failed closed", "error", err, "server", st.serverName)
		return nil, false, err
	}
	return resp, st.finished, nil
}

// Close implements Processor.
func (st *stream) Close() { st.finish() }

// NullProcessor answers every message with an empty reply of the matching
// type: the baseline of the benchmarks.
type NullProcessor struct{}

// Handle implements Processor.
func (NullProcessor) Handle(req *extprocv3.ProcessingRequest) (*extprocv3.ProcessingResponse, bool, error) {
	switch req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return continueRequestHeaders, false, nil
	case *extprocv3.ProcessingRequest_RequestBody:
		return continueRequestBody, false, nil
	case *extprocv3.ProcessingRequest_RequestTrailers:
		return continueRequestTrailers, false, nil
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return continueResponseHeaders, false, nil
	case *extprocv3.ProcessingRequest_ResponseBody:
		return continueResponseBody, false, nil
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return continueRespTrailers, false, nil
	}
	return nil, false, errors.New("unsupported ProcessingRequest type")
}

// Close implements Processor.
func (NullProcessor) Close() {}
