package grpc

import (
	"fmt"
	"iter"
	"reflect"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Typed multi-callables: a Go addition layered over the untyped ones (so
// interceptors, options, metadata and status semantics are exactly
// theirs) that gives each RPC its request and response types, as the
// generated stubs of grpc-go do. Python has no equivalent: grpcio's stubs
// are untyped by nature. Generated code uses them (protoc-gen-grpcpy);
// they also work without it:
//
//	sayHello := grpc.NewUnaryUnary[*pb.HelloRequest, *pb.HelloReply](channel, "/helloworld.Greeter/SayHello")
//	reply, err := sayHello.Call(&pb.HelloRequest{Name: "you"})
//
// For protobuf message types the serializer and deserializer default to
// protobuf's (grpcio's SerializeToString / FromString); []byte and string
// travel as they are; any other type needs WithRequestSerializer and
// WithResponseDeserializer. A deserializer that yields a value of another
// type than Resp makes the RPC fail with a *TypeError, never a panic.

// SupportPackageIsVersion1 is referenced by code protoc-gen-grpcpy
// generates (const _ = grpc.SupportPackageIsVersion1), as grpc-go's
// SupportPackageIsVersion: a library older than the generated code fails
// to compile there with this name, instead of somewhere in the middle.
// Newer generators that need newer library features will reference
// SupportPackageIsVersion2, and so on; old names stay.
const SupportPackageIsVersion1 = true

// typedOptions puts protobuf (de)serializers first when Req/Resp are
// protobuf messages; options given by the caller come after and win.
// They are marked as protobuf's (encoder.proto, decoder.proto): requests
// are marshalled straight into core memory and responses unmarshalled
// where the core received them, with no Go copy of either.
func typedOptions[Req, Resp any](opts []MultiCallableOption) []MultiCallableOption {
	var pre []MultiCallableOption
	if isProto[Req]() {
		pre = append(pre, func(o *multiCallableOptions) { o.ser = encoder{ser: ProtoSerializer, proto: true} })
	}
	if mt := protoTypeOf[Resp](); mt != nil {
		pre = append(pre, func(o *multiCallableOptions) { o.deser = decoder{des: protoDeserializerFor(mt), proto: mt} })
	}
	return append(pre, opts...)
}

func isProto[T any]() bool {
	_, ok := any(*new(T)).(proto.Message)
	return ok
}

// protoTypeOf is T's protobuf message type if T is a protobuf message
// pointer type (*pb.Foo), else nil.
func protoTypeOf[T any]() protoreflect.MessageType {
	m, ok := any(*new(T)).(proto.Message)
	if !ok {
		return nil
	}
	return m.ProtoReflect().Type() // works on a nil *pb.Foo
}

// protoDeserializerFor is the protobuf deserializer for message type mt.
func protoDeserializerFor(mt protoreflect.MessageType) Deserializer {
	return func(data []byte) (any, error) {
		out := mt.New().Interface()
		if err := proto.Unmarshal(data, out); err != nil {
			return nil, err
		}
		return out, nil
	}
}

// asType converts an untyped response to T: nil (no message) is T's zero
// value; a value of another type is a *TypeError.
func asType[T any](v any, what string) (T, error) {
	var zero T
	if v == nil {
		return zero, nil
	}
	t, ok := v.(T)
	if !ok {
		return zero, &TypeError{Msg: fmt.Sprintf("%s is a %T, want %v (check the deserializer)", what, v, reflect.TypeFor[T]())}
	}
	return t, nil
}

// Requests makes a request iterator from values, for the stream-request
// multi-callables, as Python's iter([a, b, c]): Requests(a, b, c) yields
// a, b, c. For the untyped multi-callables use Requests[any](...).
func Requests[T any](values ...T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, v := range values {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// RequestsFrom makes a request iterator from any Go sequence (a generator,
// Python's yield-based request iterators).
func RequestsFrom[T any](seq iter.Seq[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for v := range seq {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// ---- unary-unary ----

// UnaryUnary is a UnaryUnaryMultiCallable with typed request and response
// (a Go addition; see the top of this file).
type UnaryUnary[Req, Resp any] struct{ m *UnaryUnaryMultiCallable }

// NewUnaryUnary is Channel.UnaryUnary with types: protobuf
// (de)serializers by default for protobuf message types.
func NewUnaryUnary[Req, Resp any](ch *Channel, method string, opts ...MultiCallableOption) *UnaryUnary[Req, Resp] {
	return &UnaryUnary[Req, Resp]{ch.UnaryUnary(method, typedOptions[Req, Resp](opts)...)}
}

// Untyped returns the multi-callable underneath.
func (u *UnaryUnary[Req, Resp]) Untyped() *UnaryUnaryMultiCallable { return u.m }

// Call mirrors __call__: the response, or an *RpcError.
func (u *UnaryUnary[Req, Resp]) Call(request Req, opts ...CallOption) (Resp, error) {
	r, _, err := u.WithCall(request, opts...)
	return r, err
}

// WithCall mirrors with_call: the response and the Call.
func (u *UnaryUnary[Req, Resp]) WithCall(request Req, opts ...CallOption) (Resp, Call, error) {
	v, call, err := u.m.WithCall(request, opts...)
	if err != nil {
		var zero Resp
		return zero, call, err
	}
	r, err := asType[Resp](v, "the response")
	return r, call, err
}

// Future mirrors future: a typed Call-Future of the response.
func (u *UnaryUnary[Req, Resp]) Future(request Req, opts ...CallOption) (*TypedCallFuture[Resp], error) {
	f, err := u.m.Future(request, opts...)
	if err != nil {
		return nil, err
	}
	return NewTypedCallFuture[Resp](f), nil
}

// ---- stream-unary ----

// StreamUnary is a StreamUnaryMultiCallable with types.
type StreamUnary[Req, Resp any] struct{ m *StreamUnaryMultiCallable }

// NewStreamUnary is Channel.StreamUnary with types.
func NewStreamUnary[Req, Resp any](ch *Channel, method string, opts ...MultiCallableOption) *StreamUnary[Req, Resp] {
	return &StreamUnary[Req, Resp]{ch.StreamUnary(method, typedOptions[Req, Resp](opts)...)}
}

// Untyped returns the multi-callable underneath.
func (u *StreamUnary[Req, Resp]) Untyped() *StreamUnaryMultiCallable { return u.m }

// Call mirrors __call__(request_iterator, ...): the response.
func (u *StreamUnary[Req, Resp]) Call(requests iter.Seq2[Req, error], opts ...CallOption) (Resp, error) {
	r, _, err := u.WithCall(requests, opts...)
	return r, err
}

// WithCall mirrors with_call(request_iterator, ...): the response and the Call.
func (u *StreamUnary[Req, Resp]) WithCall(requests iter.Seq2[Req, error], opts ...CallOption) (Resp, Call, error) {
	v, call, err := u.m.WithCall(AnySeq(requests), opts...)
	if err != nil {
		var zero Resp
		return zero, call, err
	}
	r, err := asType[Resp](v, "the response")
	return r, call, err
}

// Future mirrors future(request_iterator, ...).
func (u *StreamUnary[Req, Resp]) Future(requests iter.Seq2[Req, error], opts ...CallOption) (*TypedCallFuture[Resp], error) {
	f, err := u.m.Future(AnySeq(requests), opts...)
	if err != nil {
		return nil, err
	}
	return NewTypedCallFuture[Resp](f), nil
}

// ---- unary-stream ----

// UnaryStream is a UnaryStreamMultiCallable with types.
type UnaryStream[Req, Resp any] struct{ m *UnaryStreamMultiCallable }

// NewUnaryStream is Channel.UnaryStream with types.
func NewUnaryStream[Req, Resp any](ch *Channel, method string, opts ...MultiCallableOption) *UnaryStream[Req, Resp] {
	return &UnaryStream[Req, Resp]{ch.UnaryStream(method, typedOptions[Req, Resp](opts)...)}
}

// Untyped returns the multi-callable underneath.
func (u *UnaryStream[Req, Resp]) Untyped() *UnaryStreamMultiCallable { return u.m }

// Call mirrors __call__: a typed Call-iterator of the responses.
func (u *UnaryStream[Req, Resp]) Call(request Req, opts ...CallOption) (*TypedCallIterator[Resp], error) {
	it, err := u.m.Call(request, opts...)
	if err != nil {
		return nil, err
	}
	return NewTypedCallIterator[Resp](it), nil
}

// ---- stream-stream ----

// StreamStream is a StreamStreamMultiCallable with types.
type StreamStream[Req, Resp any] struct{ m *StreamStreamMultiCallable }

// NewStreamStream is Channel.StreamStream with types.
func NewStreamStream[Req, Resp any](ch *Channel, method string, opts ...MultiCallableOption) *StreamStream[Req, Resp] {
	return &StreamStream[Req, Resp]{ch.StreamStream(method, typedOptions[Req, Resp](opts)...)}
}

// Untyped returns the multi-callable underneath.
func (u *StreamStream[Req, Resp]) Untyped() *StreamStreamMultiCallable { return u.m }

// Call mirrors __call__(request_iterator, ...): a typed Call-iterator.
func (u *StreamStream[Req, Resp]) Call(requests iter.Seq2[Req, error], opts ...CallOption) (*TypedCallIterator[Resp], error) {
	it, err := u.m.Call(AnySeq(requests), opts...)
	if err != nil {
		return nil, err
	}
	return NewTypedCallIterator[Resp](it), nil
}

// Open is StreamStreamMultiCallable.Open with types: Write takes a Req,
// Read returns a Resp.
func (u *StreamStream[Req, Resp]) Open(opts ...CallOption) (*TypedStreamStreamCall[Req, Resp], error) {
	c, err := u.m.Open(opts...)
	if err != nil {
		return nil, err
	}
	return &TypedStreamStreamCall[Req, Resp]{TypedCallIterator: NewTypedCallIterator[Resp](c), c: c}, nil
}

// ---- typed results ----

// TypedCallFuture is a CallFuture whose Result is typed. The Call and
// Future methods other than Result and AddDoneCallback are the untyped
// future's.
type TypedCallFuture[Resp any] struct {
	CallFuture
}

// NewTypedCallFuture wraps an untyped Call-Future (one an interceptor
// returned, say).
func NewTypedCallFuture[Resp any](f CallFuture) *TypedCallFuture[Resp] {
	return &TypedCallFuture[Resp]{f}
}

// Untyped returns the Call-Future underneath.
func (f *TypedCallFuture[Resp]) Untyped() CallFuture { return f.CallFuture }

// Result mirrors result(timeout=None), typed: a response of another type
// than Resp is a *TypeError.
func (f *TypedCallFuture[Resp]) Result(timeout ...time.Duration) (Resp, error) {
	v, err := f.CallFuture.Result(timeout...)
	if err != nil {
		var zero Resp
		return zero, err
	}
	return asType[Resp](v, "the response")
}

// AddDoneCallback mirrors add_done_callback(fn), handing fn this typed
// future.
func (f *TypedCallFuture[Resp]) AddDoneCallback(fn func(*TypedCallFuture[Resp])) {
	f.CallFuture.AddDoneCallback(func(Future) { fn(f) })
}

// TypedCallIterator is a CallIterator whose responses are typed. The Call
// methods are the untyped iterator's.
type TypedCallIterator[Resp any] struct {
	CallIterator
}

// NewTypedCallIterator wraps an untyped Call-iterator.
func NewTypedCallIterator[Resp any](it CallIterator) *TypedCallIterator[Resp] {
	return &TypedCallIterator[Resp]{it}
}

// Untyped returns the Call-iterator underneath.
func (it *TypedCallIterator[Resp]) Untyped() CallIterator { return it.CallIterator }

// Next mirrors next(iterator): the next response; io.EOF when the RPC
// ended with OK; an *RpcError otherwise; a response of another type than
// Resp cancels the RPC and is a *TypeError.
func (it *TypedCallIterator[Resp]) Next() (Resp, error) {
	v, err := it.CallIterator.Next()
	if err != nil {
		var zero Resp
		return zero, err
	}
	r, err := asType[Resp](v, "a response")
	if err != nil {
		it.CallIterator.Cancel()
	}
	return r, err
}

// All ranges over the responses, then one (zero, error) if the RPC ended
// with a non-OK status. Leaving the loop early cancels the RPC.
func (it *TypedCallIterator[Resp]) All() iter.Seq2[Resp, error] { return rangeOf(it.Next, it.Cancel) }

// TypedStreamStreamCall is a StreamStreamCall with types.
type TypedStreamStreamCall[Req, Resp any] struct {
	*TypedCallIterator[Resp]
	c *StreamStreamCall
}

// Write mirrors grpc.aio's write(request) (see StreamStreamCall.Write).
func (c *TypedStreamStreamCall[Req, Resp]) Write(request Req) error { return c.c.Write(request) }

// DoneWriting mirrors grpc.aio's done_writing().
func (c *TypedStreamStreamCall[Req, Resp]) DoneWriting() error { return c.c.DoneWriting() }

// Read mirrors grpc.aio's read(): Next.
func (c *TypedStreamStreamCall[Req, Resp]) Read() (Resp, error) { return c.Next() }

// Untyped returns the StreamStreamCall underneath.
func (c *TypedStreamStreamCall[Req, Resp]) Untyped() *StreamStreamCall { return c.c }

// ---- typed method handlers (server side) ----

// typedHandlerOptions puts protobuf (de)serializers first when Req/Resp
// are protobuf messages, marked as protobuf's (the copy-free paths, as
// typedOptions); the caller's options come after and win.
func typedHandlerOptions[Req, Resp any](opts []HandlerOption) []HandlerOption {
	var pre []HandlerOption
	if mt := protoTypeOf[Req](); mt != nil {
		pre = append(pre, func(h *RpcMethodHandler) { h.RequestDeserializer, h.reqProto = protoDeserializerFor(mt), mt })
	}
	if isProto[Resp]() {
		pre = append(pre, func(h *RpcMethodHandler) { h.ResponseSerializer, h.respProto = ProtoSerializer, true })
	}
	return append(pre, opts...)
}

// untypedResponse hands a typed response to the untyped layer: a nil
// pointer is no response (Python's None), not a typed nil in an interface.
func untypedResponse[Resp any](r Resp) any {
	v := any(r)
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	return v
}

// TypedUnaryUnaryRpcMethodHandler is UnaryUnaryRpcMethodHandler with a
// typed behavior (a Go addition; generated AddFooServicerToServer uses it
// with the servicer's methods). Protobuf (de)serializers by default for
// protobuf message types.
func TypedUnaryUnaryRpcMethodHandler[Req, Resp any](behavior func(Req, *ServicerContext) (Resp, error), opts ...HandlerOption) *RpcMethodHandler {
	return UnaryUnaryRpcMethodHandler(func(request any, context *ServicerContext) (any, error) {
		req, err := asType[Req](request, "the request")
		if err != nil {
			return nil, err
		}
		resp, err := behavior(req, context)
		return untypedResponse(resp), err
	}, typedHandlerOptions[Req, Resp](opts)...)
}

// TypedUnaryStreamRpcMethodHandler is UnaryStreamRpcMethodHandler, typed.
func TypedUnaryStreamRpcMethodHandler[Req, Resp any](behavior func(Req, *ServicerContext) iter.Seq2[Resp, error], opts ...HandlerOption) *RpcMethodHandler {
	return UnaryStreamRpcMethodHandler(func(request any, context *ServicerContext) iter.Seq2[any, error] {
		req, err := asType[Req](request, "the request")
		if err != nil {
			return func(yield func(any, error) bool) { yield(nil, err) }
		}
		return AnySeq(behavior(req, context))
	}, typedHandlerOptions[Req, Resp](opts)...)
}

// TypedStreamUnaryRpcMethodHandler is StreamUnaryRpcMethodHandler, typed.
func TypedStreamUnaryRpcMethodHandler[Req, Resp any](behavior func(iter.Seq2[Req, error], *ServicerContext) (Resp, error), opts ...HandlerOption) *RpcMethodHandler {
	return StreamUnaryRpcMethodHandler(func(requests iter.Seq2[any, error], context *ServicerContext) (any, error) {
		resp, err := behavior(TypedSeq[Req](requests), context)
		return untypedResponse(resp), err
	}, typedHandlerOptions[Req, Resp](opts)...)
}

// TypedStreamStreamRpcMethodHandler is StreamStreamRpcMethodHandler, typed.
func TypedStreamStreamRpcMethodHandler[Req, Resp any](behavior func(iter.Seq2[Req, error], *ServicerContext) iter.Seq2[Resp, error], opts ...HandlerOption) *RpcMethodHandler {
	return StreamStreamRpcMethodHandler(func(requests iter.Seq2[any, error], context *ServicerContext) iter.Seq2[any, error] {
		return AnySeq(behavior(TypedSeq[Req](requests), context))
	}, typedHandlerOptions[Req, Resp](opts)...)
}
