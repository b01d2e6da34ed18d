package grpc

import (
	"fmt"
	"io"
	"iter"
	"sync"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// UnaryStream mirrors grpc.Channel.unary_stream(method, request_serializer=None,
// response_deserializer=None).
func (ch *Channel) UnaryStream(method string, opts ...MultiCallableOption) *UnaryStreamMultiCallable {
	o := buildMultiCallableOptions(opts)
	return &UnaryStreamMultiCallable{streamCallable{ch, method, o.ser, o.deser}}
}

// StreamUnary mirrors grpc.Channel.stream_unary(method, request_serializer=None,
// response_deserializer=None).
func (ch *Channel) StreamUnary(method string, opts ...MultiCallableOption) *StreamUnaryMultiCallable {
	o := buildMultiCallableOptions(opts)
	return &StreamUnaryMultiCallable{streamCallable{ch, method, o.ser, o.deser}}
}

// StreamStream mirrors grpc.Channel.stream_stream(method, request_serializer=None,
// response_deserializer=None).
func (ch *Channel) StreamStream(method string, opts ...MultiCallableOption) *StreamStreamMultiCallable {
	o := buildMultiCallableOptions(opts)
	return &StreamStreamMultiCallable{streamCallable{ch, method, o.ser, o.deser}}
}

type streamCallable struct {
	ch     *Channel
	method string
	ser    encoder
	deser  decoder
}

// UnaryStreamMultiCallable mirrors grpc.UnaryStreamMultiCallable: "Affords
// invoking a unary-stream RPC from client-side."
type UnaryStreamMultiCallable struct{ streamCallable }

// Call mirrors __call__(request, timeout=None, metadata=None,
// credentials=None, wait_for_ready=None): it returns a CallIterator, both a
// Call for the RPC and an iterator of the response values. The error is for
// bad arguments only; a failed RPC shows while iterating.
func (m *UnaryStreamMultiCallable) Call(request any, opts ...CallOption) (CallIterator, error) {
	if len(m.ch.interceptors) > 0 {
		return m.intercepted(request, opts)
	}
	s, o, md, payload, err := m.ch.newRPC(m.method, opts, m.ser, request, true)
	if err != nil {
		return nil, err
	}
	it := &callIterator{rpcState: s, deser: m.deser}
	if s.cc == nil {
		return it, nil
	}
	if err := it.start(md, o.waitForReady, payload, true); err != nil {
		return nil, err
	}
	s.watchContext(o.ctx)
	return it, nil
}

// StreamStreamMultiCallable mirrors grpc.StreamStreamMultiCallable: "Affords
// invoking a stream-stream RPC on client-side."
type StreamStreamMultiCallable struct{ streamCallable }

// Call mirrors __call__(request_iterator, timeout=None, metadata=None,
// credentials=None, wait_for_ready=None): it sends the requests as the
// iterator yields them, each after the previous send completed (so
// nothing buffers without bound), then half-closes; it returns a
// CallIterator of the responses. A request iterator that yields an error
// or panics ends the RPC with UNKNOWN "Exception iterating requests!".
func (m *StreamStreamMultiCallable) Call(requests iter.Seq2[any, error], opts ...CallOption) (CallIterator, error) {
	if len(m.ch.interceptors) > 0 {
		return m.intercepted(requests, opts)
	}
	s, o, md, _, err := m.ch.newRPC(m.method, opts, encoder{}, nil, false)
	if err != nil {
		return nil, err
	}
	it := &callIterator{rpcState: s, deser: m.deser}
	if s.cc == nil {
		return it, nil
	}
	if err := it.start(md, o.waitForReady, core.Payload{}, false); err != nil {
		return nil, err
	}
	s.watchContext(o.ctx)
	go s.sendRequests(requests, m.ser)
	return it, nil
}

// StreamUnaryMultiCallable mirrors grpc.StreamUnaryMultiCallable: "Affords
// invoking a stream-unary RPC from client-side."
type StreamUnaryMultiCallable struct{ streamCallable }

// Call mirrors __call__(request_iterator, ...): "Synchronously invokes the
// underlying RPC" and returns the response, or an *RpcError.
func (m *StreamUnaryMultiCallable) Call(requests iter.Seq2[any, error], opts ...CallOption) (any, error) {
	resp, _, err := m.WithCall(requests, opts...)
	return resp, err
}

// WithCall mirrors with_call(request_iterator, ...): the response and a Call.
func (m *StreamUnaryMultiCallable) WithCall(requests iter.Seq2[any, error], opts ...CallOption) (any, Call, error) {
	if len(m.ch.interceptors) > 0 {
		f, err := m.intercepted(requests, opts, true)
		if err != nil {
			return nil, nil, err
		}
		return futureOutcome(f)
	}
	f, err := m.Future(requests, opts...)
	if err != nil {
		return nil, nil, err
	}
	s := (*rpcState)(f.(*unaryFuture))
	<-s.done
	if s.err != nil {
		return nil, s, s.err
	}
	return s.response, s, nil
}

// Future mirrors future(request_iterator, ...): a Call-Future of the
// response; its Cancel cancels the RPC.
func (m *StreamUnaryMultiCallable) Future(requests iter.Seq2[any, error], opts ...CallOption) (CallFuture, error) {
	if len(m.ch.interceptors) > 0 {
		return m.intercepted(requests, opts, false)
	}
	s, o, md, _, err := m.ch.newRPC(m.method, opts, encoder{}, nil, false)
	if err != nil {
		return nil, err
	}
	if s.cc == nil {
		return (*unaryFuture)(s), nil
	}
	u := &UnaryUnaryMultiCallable{ch: m.ch, method: m.method, deser: m.deser}
	_, err = s.cc.StartStreamUnary(md, o.waitForReady,
		// On the poller: setInitial only stores and closes a channel.
		func(initial *core.Op) { s.setInitial(fromCoreMetadata(initial.InitialMetadata)) },
		func(op, initial *core.Op) {
			go func() { // terminate runs user callbacks: off the poller
				<-initial.Done()
				s.setInitial(fromCoreMetadata(initial.InitialMetadata)) // in case its hook has not run yet
				u.complete(s, op)
			}()
		})
	if err != nil {
		return nil, err
	}
	s.watchContext(o.ctx)
	go s.sendRequests(requests, m.ser)
	return (*unaryFuture)(s), nil
}

// sendRequests is grpcio's request consumer: one SEND_MESSAGE batch at a
// time, each completed before the next request is pulled from the
// iterator (back-pressure, and grpcio's order of effects), then
// SEND_CLOSE_FROM_CLIENT. It stops when the RPC ends.
func (s *rpcState) sendRequests(requests iter.Seq2[any, error], ser encoder) {
	fail := func(code StatusCode, details string, cause any) {
		logging.For(logging.Channel).Error(details, "error", cause)
		s.cc.CancelWithStatus(int(code), details)
	}
	defer func() {
		if r := recover(); r != nil {
			fail(StatusCodeUnknown, "Exception iterating requests!", r)
		}
	}()
	if requests != nil {
		for req, err := range requests {
			if err != nil {
				fail(StatusCodeUnknown, "Exception iterating requests!", err)
				return
			}
			payload, err := serialize(ser, req)
			if err != nil {
				fail(StatusCodeInternal, "Exception serializing request!", err)
				return
			}
			op, err := s.cc.SendMessage(payload)
			if cause, failed := marshalFailed(err); failed {
				fail(StatusCodeInternal, "Exception serializing request!", cause)
				return
			}
			if err != nil || !op.Wait().Success {
				return // the RPC is over
			}
		}
	}
	if op, err := s.cc.CloseSend(); err == nil {
		op.Wait()
	}
}

// CallIterator is what the streaming-response multi-callables return:
// grpcio's Call-iterator, "both a Call for the RPC and an iterator of
// response values". Range over All, or call Next:
//
//	it, err := stub.ListFeatures.Call(rect)
//	for resp, err := range it.All() {
//		if err != nil { ... } // an *RpcError: the RPC ended with a non-OK status
//	}
//
// Reading is one RECV_MESSAGE batch per response, so an unread stream is
// held back by HTTP/2 flow control, never buffered without bound. It is an
// interface so that client interceptors can return their own.
type CallIterator interface {
	Call
	// Next mirrors next(iterator): the next response; io.EOF when the RPC
	// ended with OK (Python's StopIteration); an *RpcError otherwise.
	Next() (any, error)
	// All ranges over the responses, then one (nil, *RpcError) if the RPC
	// ended with a non-OK status. Leaving the loop early cancels the RPC.
	All() iter.Seq2[any, error]
}

// callIterator is the CallIterator of a real RPC.
type callIterator struct {
	*rpcState
	deser decoder

	mu     sync.Mutex // one reader at a time
	ended  bool
	endErr error
	status *core.Op // the batch with RECV_STATUS_ON_CLIENT
}

// start opens the response stream (core.ClientCall.StartResponseStream):
// with hasRequest a unary-stream RPC, else stream-stream. A request that
// fails to marshal into core memory ends the RPC as a serializer failing
// in newRPC does (core released the call).
func (it *callIterator) start(md core.OutgoingMetadata, waitForReady *bool, request core.Payload, hasRequest bool) error {
	s := it.rpcState
	var err error
	it.status, err = s.cc.StartResponseStream(md, waitForReady, request, hasRequest,
		// On the poller: setInitial only stores and closes a channel.
		func(initial *core.Op) { s.setInitial(fromCoreMetadata(initial.InitialMetadata)) },
		func(status, initial *core.Op) {
			go func() { // terminate runs user callbacks: off the poller
				<-initial.Done()
				s.setInitial(fromCoreMetadata(initial.InitialMetadata)) // in case its hook has not run yet
				s.terminate(nil, statusCodeFromCore(status.Status), status.Details, nil,
					fromCoreMetadata(status.TrailingMetadata), status.ErrorString)
			}()
		})
	if cause, failed := marshalFailed(err); failed {
		s.terminate(nil, StatusCodeInternal, "Exception serializing request!", nil, nil, cause.Error())
		return nil
	}
	return err
}

// Next implements CallIterator.
func (it *callIterator) Next() (any, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.ended {
		return nil, it.endErr
	}
	s := it.rpcState
	if s.cc != nil {
		if op, err := s.cc.RecvMessage(); err == nil {
			op.Wait()
			if op.HasMessage {
				resp, err := decode(it.deser, &op.Message)
				if err == nil {
					return resp, nil
				}
				logging.For(logging.Channel).Error("exception deserializing response", "error", err)
				s.cc.CancelWithStatus(int(StatusCodeInternal), "Exception deserializing response!")
			}
		}
	}
	if it.status != nil {
		it.status.Wait() // polls inline when it can (s.done follows it at once)
	}
	<-s.done
	it.ended = true
	it.endErr = io.EOF
	if s.cancelled {
		it.endErr = newRpcError(StatusCodeCancelled, s.details, s.initial, s.trailing, "")
	} else if s.err != nil {
		it.endErr = s.err
	}
	return nil, it.endErr
}

// All implements CallIterator.
func (it *callIterator) All() iter.Seq2[any, error] { return allOf(it) }

var errEOF = io.EOF

// allOf is the range form of any CallIterator's Next.
func allOf(it CallIterator) iter.Seq2[any, error] { return rangeOf(it.Next, it.Cancel) }

// rangeOf ranges over next's values until io.EOF, then yields one error if
// the RPC ended with another; leaving the loop early calls cancel.
func rangeOf[T any](next func() (T, error), cancel func() bool) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := next()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(v, err)
				return
			}
			if !yield(v, nil) {
				cancel()
				return
			}
		}
	}
}

// String describes the RPC like grpcio's _Rendezvous repr.
func (it *callIterator) String() string {
	if it.IsActive() {
		return "<CallIterator of in-flight RPC>"
	}
	return fmt.Sprintf("<CallIterator of RPC that terminated with status = %s, details = %q>", it.code, it.details)
}
