package dataplane

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

var errPipeClosed = errors.New("dataplane: upstream request body closed")

// bodyPipe is the upstream request body: the event loop writes released
// chunks without blocking; the transport reads them. Trailers are copied into
// the request's Trailer map before EOF is returned, so the transport sees them.
type bodyPipe struct {
	mu      sync.Mutex
	cond    *sync.Cond
	q       [][]byte
	done    bool
	err     error
	size    int64         // queued bytes
	space   chan struct{} // signalled (non-blocking) whenever the reader consumed data
	trailer http.Header   // the upstream request's Trailer map, may be nil
	pending headerList    // trailers to publish when EOF is read
}

var _ io.ReadCloser = (*bodyPipe)(nil)

func newBodyPipe() *bodyPipe {
	p := &bodyPipe{space: make(chan struct{}, 1)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *bodyPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.q) == 0 && !p.done {
		p.cond.Wait()
	}
	if len(p.q) > 0 {
		n := copy(b, p.q[0])
		p.q[0] = p.q[0][n:]
		if len(p.q[0]) == 0 {
			p.q = p.q[1:]
		}
		p.size -= int64(n)
		select {
		case p.space <- struct{}{}:
		default:
		}
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	// Publish trailers from the reading (transport) goroutine: the transport
	// iterates the Trailer map when the request starts and again after EOF.
	if p.trailer != nil && p.pending != nil {
		p.pending.toHTTP(p.trailer)
		p.pending = nil
	}
	return 0, io.EOF
}

// write queues b (owned by the pipe afterwards).
func (p *bodyPipe) write(b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	if !p.done {
		p.q = append(p.q, b)
		p.size += int64(len(b))
		p.cond.Signal()
	}
	p.mu.Unlock()
}

// queued returns the bytes written but not yet read by the transport.
func (p *bodyPipe) queued() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}

// finish ends the body: with err == nil the reader sees io.EOF after the
// queued data, with the trailers merged into the Trailer map.
func (p *bodyPipe) finish(trailers headerList, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.pending = trailers
	p.done, p.err = true, err
	if err != nil {
		p.q, p.size = nil, 0
	}
	p.cond.Broadcast()
}

// Close is called by the transport when it no longer needs the body.
func (p *bodyPipe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.q, p.size = nil, 0
	if !p.done {
		p.done, p.err = true, errPipeClosed
	}
	p.cond.Broadcast()
	return nil
}
