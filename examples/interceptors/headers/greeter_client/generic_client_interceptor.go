package main

// generic_client_interceptor.py: one client interceptor for the four RPC
// shapes, built from a single function that may change the call details
// and the requests, and may post-process the outcome.

import (
	"iter"

	"github.com/grpcpy/grpcpy/grpc"
)

// interceptorFunction is the function the interceptor is built from,
// Python's intercept_call(client_call_details, request_iterator,
// request_streaming, response_streaming) returning (client_call_details,
// request_iterator, postprocess). A unary request comes as a one-element
// iterator, as in Python (iter((request,))).
type interceptorFunction func(
	clientCallDetails *grpc.ClientCallDetails,
	requestIterator iter.Seq2[any, error],
	requestStreaming, responseStreaming bool,
) (*grpc.ClientCallDetails, iter.Seq2[any, error], *postprocess)

// postprocess is the function's optional third result (nil: Python's
// None). Python passes either outcome to one function; Go needs one per
// kind: the Call-Future of a unary response, the Call-iterator of a
// stream of responses.
type postprocess struct {
	future   func(grpc.CallFuture) grpc.CallFuture
	iterator func(grpc.CallIterator) grpc.CallIterator
}

// genericClientInterceptor implements the four client interceptor
// interfaces with one interceptorFunction.
type genericClientInterceptor struct {
	fn interceptorFunction
}

// create is the module's create(intercept_call).
func create(interceptCall interceptorFunction) genericClientInterceptor {
	return genericClientInterceptor{fn: interceptCall}
}

// next is Python's next(request_iterator): the first request.
func next(requestIterator iter.Seq2[any, error]) (any, error) {
	for request, err := range requestIterator {
		return request, err
	}
	return nil, &grpc.ValueError{Msg: "the interceptor function returned no request"} // StopIteration
}

func (i genericClientInterceptor) InterceptUnaryUnary(continuation grpc.UnaryUnaryContinuation,
	clientCallDetails *grpc.ClientCallDetails, request any) (grpc.CallFuture, error) {
	newDetails, newRequestIterator, post := i.fn(clientCallDetails, grpc.Requests(request), false, false)
	newRequest, err := next(newRequestIterator)
	if err != nil {
		return nil, err
	}
	response, err := continuation(newDetails, newRequest)
	if err != nil || post == nil || post.future == nil {
		return response, err
	}
	return post.future(response), nil
}

func (i genericClientInterceptor) InterceptUnaryStream(continuation grpc.UnaryStreamContinuation,
	clientCallDetails *grpc.ClientCallDetails, request any) (grpc.CallIterator, error) {
	newDetails, newRequestIterator, post := i.fn(clientCallDetails, grpc.Requests(request), false, true)
	newRequest, err := next(newRequestIterator)
	if err != nil {
		return nil, err
	}
	responseIt, err := continuation(newDetails, newRequest)
	if err != nil || post == nil || post.iterator == nil {
		return responseIt, err
	}
	return post.iterator(responseIt), nil
}

func (i genericClientInterceptor) InterceptStreamUnary(continuation grpc.StreamUnaryContinuation,
	clientCallDetails *grpc.ClientCallDetails, requestIterator iter.Seq2[any, error]) (grpc.CallFuture, error) {
	newDetails, newRequestIterator, post := i.fn(clientCallDetails, requestIterator, true, false)
	response, err := continuation(newDetails, newRequestIterator)
	if err != nil || post == nil || post.future == nil {
		return response, err
	}
	return post.future(response), nil
}

func (i genericClientInterceptor) InterceptStreamStream(continuation grpc.StreamStreamContinuation,
	clientCallDetails *grpc.ClientCallDetails, requestIterator iter.Seq2[any, error]) (grpc.CallIterator, error) {
	newDetails, newRequestIterator, post := i.fn(clientCallDetails, requestIterator, true, true)
	responseIt, err := continuation(newDetails, newRequestIterator)
	if err != nil || post == nil || post.iterator == nil {
		return responseIt, err
	}
	return post.iterator(responseIt), nil
}
