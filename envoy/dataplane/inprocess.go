package dataplane

import (
	"context"
	"errors"
	"io"
	"sync"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// InProcess returns a connection that runs srv's Process handler in this
// process, for a data plane embedded beside its processor: each message is
// handed over by pointer instead of being marshalled, framed over HTTP/2
// and written to a socket, which is most of an exchange's cost over
// loopback gRPC. Semantics follow a gRPC stream: messages arrive in order,
// CloseSend ends the processor's Recv with io.EOF, the handler's error
// reaches Recv as its gRPC status, cancelling the stream's context cancels
// the handler's, and outgoing metadata arrives as incoming metadata.
// Server interceptors (for example the listener's bearer-token check) do
// not run: nothing crosses a network.
//
// Both sides must treat messages as read-only once sent (this package and
// the extproc processor do): they are shared, not copied.
func InProcess(srv extprocv3.ExternalProcessorServer) grpc.ClientConnInterface {
	return inProcessConn{srv: srv}
}

type inProcessConn struct {
	srv extprocv3.ExternalProcessorServer
}

var processMethod = "/" + extprocv3.ExternalProcessor_ServiceDesc.ServiceName + "/" + extprocv3.ExternalProcessor_ServiceDesc.Streams[0].StreamName

func (c inProcessConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Error(codes.Unimplemented, "in-process ext_proc connection: unary calls are not supported")
}

func (c inProcessConn) NewStream(ctx context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	if method != processMethod {
		return nil, status.Errorf(codes.Unimplemented, "in-process ext_proc connection: unknown method %s", method)
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	return c.start(ctx), nil
}

// start runs the processor's handler on a new stream.
func (c inProcessConn) start(ctx context.Context) *inProcessClient {
	sctx := ctx
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		sctx = metadata.NewIncomingContext(ctx, md)
	}
	sctx, cancel := context.WithCancel(sctx)
	p := &inProcessPipe{ctx: ctx, sctx: sctx, up: newQueue(), down: newQueue()}
	go func() {
		defer cancel()
		err := c.srv.Process(&inProcessServer{p: p})
		if err != nil {
			err = status.Convert(err).Err()
		}
		p.down.close(err)
	}()
	return &inProcessClient{p: p}
}

// Process implements extprocv3.ExternalProcessorClient without the
// generic stream wrappers, so messages are not even copied field by field:
// the proxy uses it when Config.Processor is an InProcess connection.
func (c inProcessConn) Process(ctx context.Context, _ ...grpc.CallOption) (extprocv3.ExternalProcessor_ProcessClient, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	return c.start(ctx), nil
}

// processorClient returns the ext_proc client for conn.
func processorClient(conn grpc.ClientConnInterface) extprocv3.ExternalProcessorClient {
	if c, ok := conn.(inProcessConn); ok {
		return c
	}
	return extprocv3.NewExternalProcessorClient(conn)
}

// inProcessPipe is one stream: up carries requests to the processor, down
// its replies.
type inProcessPipe struct {
	ctx, sctx context.Context
	up, down  *queue
}

// queue is an unbounded, ordered hand-off (a gRPC stream's flow-control
// window is large enough that Send rarely blocks; a STREAMED body must not
// deadlock against a processor that replies later).
type queue struct {
	mu     sync.Mutex
	items  []proto.Message
	closed bool
	err    error // reported after the items, when closed
	ready  chan struct{}
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

func (q *queue) put(m proto.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return io.EOF
	}
	q.items = append(q.items, m)
	q.signal()
	return nil
}

func (q *queue) close(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed, q.err = true, err
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// get returns the next item, or the close error (io.EOF for a clean
// close), or the context's status when ctx ends first.
func (q *queue) get(ctx context.Context) (proto.Message, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			return m, nil
		}
		if q.closed {
			err := q.err
			q.mu.Unlock()
			if err == nil {
				err = io.EOF
			}
			return nil, err
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

// shallowCopy makes dst share src's fields (messages are read-only once
// sent), so no body bytes are copied.
func shallowCopy(dst, src proto.Message) {
	d := dst.ProtoReflect()
	src.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		d.Set(fd, v)
		return true
	})
}

var errType = errors.New("in-process ext_proc connection: unexpected message type")

type inProcessClient struct {
	p *inProcessPipe
}

func (c *inProcessClient) Header() (metadata.MD, error) { return metadata.MD{}, nil }
func (c *inProcessClient) Trailer() metadata.MD         { return metadata.MD{} }
func (c *inProcessClient) CloseSend() error {
	c.p.up.close(nil)
	return nil
}
func (c *inProcessClient) Context() context.Context { return c.p.ctx }

func (c *inProcessClient) SendMsg(m any) error {
	req, ok := m.(*extprocv3.ProcessingRequest)
	if !ok {
		return errType
	}
	if err := c.p.ctx.Err(); err != nil {
		return io.EOF // as gRPC: the status arrives via RecvMsg
	}
	return c.p.up.put(req)
}

// Send implements extprocv3.ExternalProcessor_ProcessClient.
func (c *inProcessClient) Send(req *extprocv3.ProcessingRequest) error { return c.SendMsg(req) }

// Recv implements extprocv3.ExternalProcessor_ProcessClient.
func (c *inProcessClient) Recv() (*extprocv3.ProcessingResponse, error) {
	resp, err := c.p.down.get(c.p.ctx)
	if err != nil {
		return nil, err
	}
	return resp.(*extprocv3.ProcessingResponse), nil
}

func (c *inProcessClient) RecvMsg(m any) error {
	dst, ok := m.(*extprocv3.ProcessingResponse)
	if !ok {
		return errType
	}
	resp, err := c.p.down.get(c.p.ctx)
	if err != nil {
		return err
	}
	shallowCopy(dst, resp)
	return nil
}

type inProcessServer struct {
	p *inProcessPipe
}

func (s *inProcessServer) SetHeader(metadata.MD) error  { return nil }
func (s *inProcessServer) SendHeader(metadata.MD) error { return nil }
func (s *inProcessServer) SetTrailer(metadata.MD)       {}
func (s *inProcessServer) Context() context.Context     { return s.p.sctx }

func (s *inProcessServer) SendMsg(m any) error {
	resp, ok := m.(*extprocv3.ProcessingResponse)
	if !ok {
		return errType
	}
	if err := s.p.sctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	return s.p.down.put(resp)
}

// Send implements extprocv3.ExternalProcessor_ProcessServer.
func (s *inProcessServer) Send(resp *extprocv3.ProcessingResponse) error { return s.SendMsg(resp) }

// Recv implements extprocv3.ExternalProcessor_ProcessServer.
func (s *inProcessServer) Recv() (*extprocv3.ProcessingRequest, error) {
	req, err := s.p.up.get(s.p.sctx)
	if err != nil {
		return nil, err
	}
	return req.(*extprocv3.ProcessingRequest), nil
}

func (s *inProcessServer) RecvMsg(m any) error {
	dst, ok := m.(*extprocv3.ProcessingRequest)
	if !ok {
		return errType
	}
	req, err := s.p.up.get(s.p.sctx)
	if err != nil {
		return err
	}
	shallowCopy(dst, req)
	return nil
}
