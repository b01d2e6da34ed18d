package grpc

import (
	"errors"
	"sync"

	"github.com/grpcpy/grpcpy/core"
)

// ErrDoneWriting is returned by StreamStreamCall.Write after DoneWriting.
var ErrDoneWriting = errors.New("grpc: write after DoneWriting")

// ErrRPCFinished is returned by StreamStreamCall.Write when the RPC already
// ended with status OK (the server finished without reading everything).
// grpc.aio raises InvalidStateError "RPC already finished" here.
var ErrRPCFinished = errors.New("grpc: RPC already finished")

// StreamStreamCall is a stream-stream RPC driven by explicit writes and
// reads, as grpc.aio's StreamStreamCall (write, done_writing, read) — an
// addition on top of the 1.18 API, whose request iterator is drained by a
// goroutine of its own. Here the goroutine that calls Write starts the
// SEND_MESSAGE batch and waits for it itself, so a loop that writes and
// then reads involves no other goroutine: on a quiet queue each wait polls
// the completion queue inline and needs no hand-off at all.
//
// One goroutine may write while another reads. It is also a CallIterator:
// Read is Next, and the Call methods (Cancel, Code, metadata...) work as
// for any RPC. Finish it with DoneWriting and read to io.EOF, or Cancel it:
// an RPC left open holds its core call until the server ends it.
type StreamStreamCall struct {
	CallIterator
	w streamWriter
}

// streamWriter is the write half: direct on the core call, or bridged
// through a request iterator when interceptors need one.
type streamWriter interface {
	write(request any) error
	doneWriting() error
}

// Write mirrors grpc.aio's StreamStreamCall.write(request): it sends one
// request and returns once the core has taken it (the SEND_MESSAGE batch
// completed), so at most one message is buffered: HTTP/2 flow control
// holds back a writer that outruns the server. If the RPC has ended it
// returns the RPC's *RpcError, or ErrRPCFinished if it ended with OK; a
// request the serializer rejects ends the RPC with INTERNAL "Exception
// serializing request!" and returns that *RpcError.
func (c *StreamStreamCall) Write(request any) error { return c.w.write(request) }

// DoneWriting mirrors grpc.aio's done_writing(): it half-closes the RPC
// (SEND_CLOSE_FROM_CLIENT). Calling it again does nothing.
func (c *StreamStreamCall) DoneWriting() error { return c.w.doneWriting() }

// Read mirrors grpc.aio's read(): the next response; io.EOF once the RPC
// ended with OK (aio's EOF); an *RpcError otherwise. It is Next.
func (c *StreamStreamCall) Read() (any, error) { return c.Next() }

// Open starts a stream-stream RPC to be driven with Write, DoneWriting and
// Read (grpc.aio's stream_stream multi-callable called without a request
// iterator). Options are Call's. The error is for bad arguments only, as
// for Call.
func (m *StreamStreamMultiCallable) Open(opts ...CallOption) (*StreamStreamCall, error) {
	if len(m.ch.interceptors) > 0 {
		return m.openBridged(opts)
	}
	s, o, md, _, err := m.ch.newRPC(m.method, opts, encoder{}, nil, false)
	if err != nil {
		return nil, err
	}
	it := &callIterator{rpcState: s, deser: m.deser}
	w := &directWriter{it: it, ser: m.ser}
	if s.cc != nil {
		if err := it.start(md, o.waitForReady, core.Payload{}, false); err != nil {
			return nil, err
		}
		s.watchContext(o.ctx)
	}
	return &StreamStreamCall{CallIterator: it, w: w}, nil
}

// directWriter starts each SEND_MESSAGE batch on the caller's goroutine.
type directWriter struct {
	it  *callIterator
	ser encoder

	mu     sync.Mutex // one write at a time, as the core allows one send in flight
	closed bool
}

func (w *directWriter) write(request any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrDoneWriting
	}
	s := w.it.rpcState
	if s.cc == nil {
		return w.ended()
	}
	payload, err := serialize(w.ser, request)
	if err != nil {
		s.cc.CancelWithStatus(int(StatusCodeInternal), "Exception serializing request!")
		return w.ended()
	}
	op, err := s.cc.SendMessage(payload)
	if _, failed := marshalFailed(err); failed {
		s.cc.CancelWithStatus(int(StatusCodeInternal), "Exception serializing request!")
		return w.ended()
	}
	if err == nil && op.Wait().Success {
		return nil
	}
	return w.ended()
}

func (w *directWriter) doneWriting() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if s := w.it.rpcState; s.cc != nil {
		if op, err := s.cc.CloseSend(); err == nil {
			op.Wait() // a failure means the RPC is over: Read reports how
		}
	}
	return nil
}

// ended waits for the RPC's status (a send fails only once the call is
// over) and returns the error Write reports for it.
func (w *directWriter) ended() error {
	s := w.it.rpcState
	if w.it.status != nil {
		w.it.status.Wait()
	}
	<-s.done
	return endedError(s)
}

// endedError is Write's error for an RPC that has ended.
func endedError(c Call) error {
	if c.Code() == StatusCodeOK {
		return ErrRPCFinished
	}
	return newRpcError(c.Code(), c.Details(), c.InitialMetadata(), c.TrailingMetadata(), "")
}

// openBridged drives the interceptors' request iterator: each Write hands
// one request to the iterator and returns once the iterator's consumer
// asks for the next one (which grpcio's consumer does only after the send
// completed), so Write's contract holds whatever the interceptors wrap.
func (m *StreamStreamMultiCallable) openBridged(opts []CallOption) (*StreamStreamCall, error) {
	b := &bridgeWriter{reqs: make(chan any), taken: make(chan struct{}), ended: make(chan struct{})}
	requests := func(yield func(any, error) bool) {
		for {
			var r any
			select {
			case req, ok := <-b.reqs:
				if !ok {
					return // DoneWriting
				}
				r = req
			case <-b.ended:
				return
			}
			if !yield(r, nil) { // returns once r was sent (or the RPC is over)
				return
			}
			select {
			case b.taken <- struct{}{}:
			case <-b.ended:
				return
			}
		}
	}
	it, err := m.intercepted(requests, opts)
	if err != nil {
		return nil, err
	}
	b.call = it
	if !it.AddCallback(func() { close(b.ended) }) {
		close(b.ended)
	}
	return &StreamStreamCall{CallIterator: it, w: b}, nil
}

// bridgeWriter feeds a request iterator.
type bridgeWriter struct {
	call  Call
	reqs  chan any
	taken chan struct{}
	ended chan struct{} // closed when the RPC terminates

	mu     sync.Mutex
	closed bool
}

func (b *bridgeWriter) write(request any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrDoneWriting
	}
	select {
	case b.reqs <- request:
	case <-b.ended:
		return endedError(b.call)
	}
	select {
	case <-b.taken:
		return nil
	case <-b.ended:
		return endedError(b.call)
	}
}

func (b *bridgeWriter) doneWriting() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	return nil
}
