package main

// request_header_validator_interceptor.py: a server interceptor that lets
// an RPC through only if its invocation metadata holds a given header with
// a given value; any other RPC gets a handler that aborts it.

import (
	"slices"

	"github.com/grpcpy/grpcpy/grpc"
)

// unaryUnaryRpcTerminator is a handler that ends every RPC with code and
// details, whatever the request (it is never deserialized).
func unaryUnaryRpcTerminator(code grpc.StatusCode, details string) *grpc.RpcMethodHandler {
	terminate := func(ignoredRequest any, context *grpc.ServicerContext) (any, error) {
		context.Abort(code, details) // does not return, as Python's abort raises
		return nil, nil
	}
	return grpc.UnaryUnaryRpcMethodHandler(terminate)
}

// requestHeaderValidatorInterceptor is a grpc.ServerInterceptor.
type requestHeaderValidatorInterceptor struct {
	header     string
	value      string
	terminator *grpc.RpcMethodHandler
}

func newRequestHeaderValidatorInterceptor(header, value string, code grpc.StatusCode, details string) *requestHeaderValidatorInterceptor {
	return &requestHeaderValidatorInterceptor{
		header:     header,
		value:      value,
		terminator: unaryUnaryRpcTerminator(code, details),
	}
}

// InterceptService runs before any handler: with the header (Python's
// "(self._header, self._value) in handler_call_details.invocation_metadata")
// the RPC goes on to the service's handler, without it to the terminator.
func (i *requestHeaderValidatorInterceptor) InterceptService(
	continuation func(*grpc.HandlerCallDetails) *grpc.RpcMethodHandler,
	handlerCallDetails *grpc.HandlerCallDetails,
) *grpc.RpcMethodHandler {
	if slices.Contains(handlerCallDetails.InvocationMetadata, grpc.Metadatum{Key: i.header, Value: i.value}) {
		return continuation(handlerCallDetails)
	}
	return i.terminator
}
