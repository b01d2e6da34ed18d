package grpc

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime/debug"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/internal/logging"
)

// ClientCallDetails mirrors grpc.ClientCallDetails, "Describes an RPC to be
// invoked". Interceptors may pass a changed copy to the continuation.
type ClientCallDetails struct {
	// Method mirrors method, e.g. "/helloworld.Greeter/SayHello".
	Method string
	// Timeout mirrors timeout; nil is None (no deadline).
	Timeout *time.Duration
	// Metadata mirrors metadata.
	Metadata Metadata
	// Credentials mirrors credentials (per-call CallCredentials).
	Credentials *CallCredentials
	// WaitForReady mirrors wait_for_ready; nil is None.
	WaitForReady *bool
	// Context is the WithContext context, if any (a Go addition).
	Context context.Context
	// Compression mirrors compression (grpcio 1.23 and later); nil is None.
	Compression *Compression
}

func detailsFrom(method string, o callOptions) *ClientCallDetails {
	d := &ClientCallDetails{Method: method, Metadata: o.metadata, Credentials: o.credentials,
		WaitForReady: o.waitForReady, Context: o.ctx}
	if o.hasTimeout {
		t := o.timeout
		d.Timeout = &t
	}
	if o.hasCompression {
		c := o.compression
		d.Compression = &c
	}
	return d
}

func (d *ClientCallDetails) options() []CallOption {
	var opts []CallOption
	if d.Timeout != nil {
		opts = append(opts, WithTimeout(*d.Timeout))
	}
	if len(d.Metadata) > 0 {
		opts = append(opts, WithMetadata(d.Metadata))
	}
	if d.Credentials != nil {
		opts = append(opts, WithCredentials(d.Credentials))
	}
	if d.WaitForReady != nil {
		opts = append(opts, WithWaitForReady(*d.WaitForReady))
	}
	if d.Compression != nil {
		opts = append(opts, WithCompression(*d.Compression))
	}
	if d.Context != nil {
		opts = append(opts, WithContext(d.Context))
	}
	return opts
}

// Continuations: "proceeds with the invocation by executing the next
// interceptor in chain or invoking the actual RPC". An interceptor may
// call one several times (retries) or not at all (short-circuit).
type (
	UnaryUnaryContinuation   func(clientCallDetails *ClientCallDetails, request any) (CallFuture, error)
	UnaryStreamContinuation  func(clientCallDetails *ClientCallDetails, request any) (CallIterator, error)
	StreamUnaryContinuation  func(clientCallDetails *ClientCallDetails, requestIterator iter.Seq2[any, error]) (CallFuture, error)
	StreamStreamContinuation func(clientCallDetails *ClientCallDetails, requestIterator iter.Seq2[any, error]) (CallIterator, error)
)

// UnaryUnaryClientInterceptor mirrors grpc.UnaryUnaryClientInterceptor.
// InterceptUnaryUnary mirrors intercept_unary_unary(continuation,
// client_call_details, request): it returns "an object that is both a Call
// for the RPC and a Future", usually the continuation's.
type UnaryUnaryClientInterceptor interface {
	InterceptUnaryUnary(continuation UnaryUnaryContinuation, clientCallDetails *ClientCallDetails, request any) (CallFuture, error)
}

// UnaryStreamClientInterceptor mirrors grpc.UnaryStreamClientInterceptor.
type UnaryStreamClientInterceptor interface {
	InterceptUnaryStream(continuation UnaryStreamContinuation, clientCallDetails *ClientCallDetails, request any) (CallIterator, error)
}

// StreamUnaryClientInterceptor mirrors grpc.StreamUnaryClientInterceptor.
type StreamUnaryClientInterceptor interface {
	InterceptStreamUnary(continuation StreamUnaryContinuation, clientCallDetails *ClientCallDetails, requestIterator iter.Seq2[any, error]) (CallFuture, error)
}

// StreamStreamClientInterceptor mirrors grpc.StreamStreamClientInterceptor.
type StreamStreamClientInterceptor interface {
	InterceptStreamStream(continuation StreamStreamContinuation, clientCallDetails *ClientCallDetails, requestIterator iter.Seq2[any, error]) (CallIterator, error)
}

// Function adapters for the four client interceptor kinds.
type (
	UnaryUnaryClientInterceptorFunc   func(UnaryUnaryContinuation, *ClientCallDetails, any) (CallFuture, error)
	UnaryStreamClientInterceptorFunc  func(UnaryStreamContinuation, *ClientCallDetails, any) (CallIterator, error)
	StreamUnaryClientInterceptorFunc  func(StreamUnaryContinuation, *ClientCallDetails, iter.Seq2[any, error]) (CallFuture, error)
	StreamStreamClientInterceptorFunc func(StreamStreamContinuation, *ClientCallDetails, iter.Seq2[any, error]) (CallIterator, error)
)

func (f UnaryUnaryClientInterceptorFunc) InterceptUnaryUnary(c UnaryUnaryContinuation, d *ClientCallDetails, r any) (CallFuture, error) {
	return f(c, d, r)
}
func (f UnaryStreamClientInterceptorFunc) InterceptUnaryStream(c UnaryStreamContinuation, d *ClientCallDetails, r any) (CallIterator, error) {
	return f(c, d, r)
}
func (f StreamUnaryClientInterceptorFunc) InterceptStreamUnary(c StreamUnaryContinuation, d *ClientCallDetails, r iter.Seq2[any, error]) (CallFuture, error) {
	return f(c, d, r)
}
func (f StreamStreamClientInterceptorFunc) InterceptStreamStream(c StreamStreamContinuation, d *ClientCallDetails, r iter.Seq2[any, error]) (CallIterator, error) {
	return f(c, d, r)
}

// InterceptChannel mirrors grpc.intercept_channel(channel, *interceptors):
// a Channel whose RPCs pass through the interceptors, "given control in
// the order they are listed". Each must implement at least one of the four
// client interceptor interfaces (else a *TypeError); an interceptor only
// sees the RPC shapes it implements. Closing the returned channel closes
// channel.
func InterceptChannel(channel *Channel, interceptors ...any) (*Channel, error) {
	for i, ic := range interceptors {
		switch ic.(type) {
		case UnaryUnaryClientInterceptor, UnaryStreamClientInterceptor,
			StreamUnaryClientInterceptor, StreamStreamClientInterceptor:
		default:
			return nil, &TypeError{Msg: fmt.Sprintf("interceptor %d (%T) implements none of "+
				"UnaryUnaryClientInterceptor, UnaryStreamClientInterceptor, "+
				"StreamUnaryClientInterceptor, StreamStreamClientInterceptor", i, ic)}
		}
	}
	chain := append(append([]any(nil), interceptors...), channel.interceptors...)
	return &Channel{c: channel.c, target: channel.target, root: channel.rootChannel(), interceptors: chain}, nil
}

// chainGuard runs an interceptor chain: a panic becomes an *RpcError
// (UNKNOWN) instead of unwinding the caller, and RPCs the chain started
// are cancelled so nothing is left running.
type chainGuard struct {
	mu      sync.Mutex
	started []RpcContext
}

func (g *chainGuard) track(c RpcContext) {
	if c == nil {
		return
	}
	g.mu.Lock()
	g.started = append(g.started, c)
	g.mu.Unlock()
}

func guard[T any](g *chainGuard, run func() (T, error)) (res T, err error) {
	defer func() {
		if r := recover(); r != nil {
			details := fmt.Sprintf("Exception calling interceptor: %v", r)
			logging.For(logging.Interceptor).Error(details, "stack", string(debug.Stack()))
			g.mu.Lock()
			started := g.started
			g.mu.Unlock()
			for _, c := range started {
				c.Cancel()
			}
			var zero T
			res, err = zero, newRpcError(StatusCodeUnknown, details, nil, nil, "")
		}
	}()
	return run()
}

func (m *UnaryUnaryMultiCallable) intercepted(request any, opts []CallOption, wait bool) (CallFuture, error) {
	g := &chainGuard{}
	direct := &UnaryUnaryMultiCallable{ch: m.ch.rootChannel(), method: m.method, ser: m.ser, deser: m.deser}
	var next UnaryUnaryContinuation = func(d *ClientCallDetails, req any) (CallFuture, error) {
		d2 := *direct
		d2.method = d.Method
		f, err := d2.Future(req, d.options()...)
		if err != nil {
			return nil, err
		}
		g.track(f)
		if wait { // the synchronous paths hand interceptors a finished Call-Future, as grpcio
			f.Exception()
		}
		return f, nil
	}
	for i := len(m.ch.interceptors) - 1; i >= 0; i-- {
		if ic, ok := m.ch.interceptors[i].(UnaryUnaryClientInterceptor); ok {
			inner := next
			next = func(d *ClientCallDetails, req any) (CallFuture, error) { return ic.InterceptUnaryUnary(inner, d, req) }
		}
	}
	details := detailsFrom(m.method, buildCallOptions(opts))
	return guard(g, func() (CallFuture, error) { return next(details, request) })
}

func (m *UnaryStreamMultiCallable) intercepted(request any, opts []CallOption) (CallIterator, error) {
	g := &chainGuard{}
	var next UnaryStreamContinuation = func(d *ClientCallDetails, req any) (CallIterator, error) {
		direct := &UnaryStreamMultiCallable{streamCallable{m.ch.rootChannel(), d.Method, m.ser, m.deser}}
		it, err := direct.Call(req, d.options()...)
		if err == nil {
			g.track(it)
		}
		return it, err
	}
	for i := len(m.ch.interceptors) - 1; i >= 0; i-- {
		if ic, ok := m.ch.interceptors[i].(UnaryStreamClientInterceptor); ok {
			inner := next
			next = func(d *ClientCallDetails, req any) (CallIterator, error) {
				return ic.InterceptUnaryStream(inner, d, req)
			}
		}
	}
	details := detailsFrom(m.method, buildCallOptions(opts))
	return guard(g, func() (CallIterator, error) { return next(details, request) })
}

func (m *StreamUnaryMultiCallable) intercepted(requests iter.Seq2[any, error], opts []CallOption, wait bool) (CallFuture, error) {
	g := &chainGuard{}
	var next StreamUnaryContinuation = func(d *ClientCallDetails, reqs iter.Seq2[any, error]) (CallFuture, error) {
		direct := &StreamUnaryMultiCallable{streamCallable{m.ch.rootChannel(), d.Method, m.ser, m.deser}}
		f, err := direct.Future(reqs, d.options()...)
		if err != nil {
			return nil, err
		}
		g.track(f)
		if wait {
			f.Exception()
		}
		return f, nil
	}
	for i := len(m.ch.interceptors) - 1; i >= 0; i-- {
		if ic, ok := m.ch.interceptors[i].(StreamUnaryClientInterceptor); ok {
			inner := next
			next = func(d *ClientCallDetails, reqs iter.Seq2[any, error]) (CallFuture, error) {
				return ic.InterceptStreamUnary(inner, d, reqs)
			}
		}
	}
	details := detailsFrom(m.method, buildCallOptions(opts))
	return guard(g, func() (CallFuture, error) { return next(details, requests) })
}

func (m *StreamStreamMultiCallable) intercepted(requests iter.Seq2[any, error], opts []CallOption) (CallIterator, error) {
	g := &chainGuard{}
	var next StreamStreamContinuation = func(d *ClientCallDetails, reqs iter.Seq2[any, error]) (CallIterator, error) {
		direct := &StreamStreamMultiCallable{streamCallable{m.ch.rootChannel(), d.Method, m.ser, m.deser}}
		it, err := direct.Call(reqs, d.options()...)
		if err == nil {
			g.track(it)
		}
		return it, err
	}
	for i := len(m.ch.interceptors) - 1; i >= 0; i-- {
		if ic, ok := m.ch.interceptors[i].(StreamStreamClientInterceptor); ok {
			inner := next
			next = func(d *ClientCallDetails, reqs iter.Seq2[any, error]) (CallIterator, error) {
				return ic.InterceptStreamStream(inner, d, reqs)
			}
		}
	}
	details := detailsFrom(m.method, buildCallOptions(opts))
	return guard(g, func() (CallIterator, error) { return next(details, requests) })
}

// futureOutcome turns an intercepted Call-Future into Call/WithCall's
// results. A cancelled future reads as its CANCELLED status.
func futureOutcome(f CallFuture) (any, Call, error) {
	resp, err := f.Result()
	if err != nil {
		if _, ok := err.(FutureCancelledError); ok {
			return nil, f, newRpcError(f.Code(), f.Details(), nil, nil, "")
		}
		return nil, f, err
	}
	return resp, f, nil
}

// CompletedCallFuture is a finished Call-Future with the given outcome,
// for interceptors that answer without calling their continuation: the
// response with status OK, or, for any other code, an *RpcError.
func CompletedCallFuture(response any, status Status) CallFuture {
	s := newRPCState(nil, time.Time{}, false)
	s.terminate(response, status.Code, status.Details, nil, status.TrailingMetadata, "")
	return (*unaryFuture)(s)
}

// CompletedCallIterator is a finished Call-iterator that yields responses
// and ends with status, for interceptors that answer without calling their
// continuation.
func CompletedCallIterator(responses []any, status Status) CallIterator {
	s := newRPCState(nil, time.Time{}, false)
	s.terminate(nil, status.Code, status.Details, nil, status.TrailingMetadata, "")
	return &sliceIterator{rpcState: s, items: responses}
}

type sliceIterator struct {
	*rpcState
	mu    sync.Mutex
	items []any
}

func (it *sliceIterator) Next() (any, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.items) > 0 {
		v := it.items[0]
		it.items = it.items[1:]
		return v, nil
	}
	if it.err != nil {
		return nil, it.err
	}
	return nil, errEOF
}

func (it *sliceIterator) All() iter.Seq2[any, error] { return allOf(it) }

// ServerInterceptor mirrors grpc.ServerInterceptor. InterceptService mirrors
// intercept_service(continuation, handler_call_details): it sees the
// method and invocation metadata before any handler runs and returns the
// handler to use (its own, a wrapped one, or the continuation's), or nil,
// which answers UNIMPLEMENTED.
type ServerInterceptor interface {
	InterceptService(continuation func(*HandlerCallDetails) *RpcMethodHandler, handlerCallDetails *HandlerCallDetails) *RpcMethodHandler
}

// ServerInterceptorFunc adapts a function to ServerInterceptor.
type ServerInterceptorFunc func(continuation func(*HandlerCallDetails) *RpcMethodHandler, handlerCallDetails *HandlerCallDetails) *RpcMethodHandler

// InterceptService calls f.
func (f ServerInterceptorFunc) InterceptService(c func(*HandlerCallDetails) *RpcMethodHandler, d *HandlerCallDetails) *RpcMethodHandler {
	return f(c, d)
}

// WithInterceptors is grpc.server()'s interceptors= keyword: server
// interceptors "given control in the order they are specified".
func WithInterceptors(interceptors ...ServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.interceptors = append(o.interceptors, interceptors...) }
}

// AsCallFuture adapts a plain Future to the Call-Future an interceptor
// returns (grpcio documents the same contract: "an object that is both a
// Call for the RPC and a Future"; a Python interceptor returning a bare
// concurrent.futures.Future breaks callers that ask for its code). The
// Call methods are derived from the outcome: code OK and no details on
// success; an *RpcError's code, details and trailing metadata; UNKNOWN
// with the error's text for any other error; CANCELLED if the future was
// cancelled. Code, Details and the metadata block until f is done.
func AsCallFuture(f Future) CallFuture {
	if cf, ok := f.(CallFuture); ok {
		return cf
	}
	return &futureCall{Future: f}
}

type futureCall struct{ Future }

func (c *futureCall) outcome() (StatusCode, string, Metadata) {
	exc, err := c.Future.Exception()
	switch {
	case err != nil: // cancelled
		return StatusCodeCancelled, "Locally cancelled by application!", nil
	case exc == nil:
		return StatusCodeOK, "", nil
	}
	var rpcErr *RpcError
	if errors.As(exc, &rpcErr) {
		return rpcErr.Code(), rpcErr.Details(), rpcErr.TrailingMetadata()
	}
	return StatusCodeUnknown, exc.Error(), nil
}

func (c *futureCall) IsActive() bool                       { return !c.Future.Done() }
func (c *futureCall) TimeRemaining() (time.Duration, bool) { return 0, false }
func (c *futureCall) AddCallback(cb func()) bool {
	if c.Future.Done() {
		return false
	}
	c.Future.AddDoneCallback(func(Future) { cb() })
	return true
}
func (c *futureCall) InitialMetadata() Metadata { c.Future.Exception(); return nil }
func (c *futureCall) TrailingMetadata() Metadata {
	_, _, md := c.outcome()
	return md
}
func (c *futureCall) Code() StatusCode {
	code, _, _ := c.outcome()
	return code
}
func (c *futureCall) Details() string {
	_, d, _ := c.outcome()
	return d
}
