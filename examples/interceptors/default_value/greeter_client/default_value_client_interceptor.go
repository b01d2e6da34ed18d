package main

// default_value_client_interceptor.py: a client interceptor for the
// unary-response shapes that answers with a fixed value when the RPC
// fails.

import (
	"iter"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

// concreteValue is a grpc.Future that is done from the start, with a
// result and no exception (the original's _ConcreteValue).
type concreteValue struct {
	result any
}

func (v *concreteValue) Cancel() bool    { return false }
func (v *concreteValue) Cancelled() bool { return false }
func (v *concreteValue) Running() bool   { return false }
func (v *concreteValue) Done() bool      { return true }

func (v *concreteValue) Result(timeout ...time.Duration) (any, error) { return v.result, nil }

func (v *concreteValue) Exception(timeout ...time.Duration) (error, error) { return nil, nil }

func (v *concreteValue) Traceback(timeout ...time.Duration) (string, error) { return "", nil }

// AddDoneCallback calls fn at once: the value is done. (The original
// passes fn the result; a done callback takes the future.)
func (v *concreteValue) AddDoneCallback(fn func(grpc.Future)) { fn(v) }

// defaultValueClientInterceptor implements
// grpc.UnaryUnaryClientInterceptor and grpc.StreamUnaryClientInterceptor.
type defaultValueClientInterceptor struct {
	defaultValue grpc.CallFuture
}

// newDefaultValueClientInterceptor wraps value in a concreteValue. An
// interceptor returns a Call-Future; grpc.AsCallFuture makes one of a
// plain Future (code OK), where Python hands back the bare Future.
func newDefaultValueClientInterceptor(value any) *defaultValueClientInterceptor {
	return &defaultValueClientInterceptor{defaultValue: grpc.AsCallFuture(&concreteValue{result: value})}
}

// interceptCall is the original's _intercept_call, given the
// continuation's outcome: the default in place of a failed RPC.
func (i *defaultValueClientInterceptor) interceptCall(response grpc.CallFuture, err error) (grpc.CallFuture, error) {
	if err != nil {
		return nil, err // the continuation raised
	}
	if exception, _ := response.Exception(); exception != nil {
		return i.defaultValue, nil
	}
	return response, nil
}

func (i *defaultValueClientInterceptor) InterceptUnaryUnary(continuation grpc.UnaryUnaryContinuation,
	clientCallDetails *grpc.ClientCallDetails, request any) (grpc.CallFuture, error) {
	return i.interceptCall(continuation(clientCallDetails, request))
}

func (i *defaultValueClientInterceptor) InterceptStreamUnary(continuation grpc.StreamUnaryContinuation,
	clientCallDetails *grpc.ClientCallDetails, requestIterator iter.Seq2[any, error]) (grpc.CallFuture, error) {
	return i.interceptCall(continuation(clientCallDetails, requestIterator))
}
