"""interceptors/headers' generic_client_interceptor.py: one interceptor
class for the four RPC shapes, driven by a single function.

The function takes (client_call_details, request_iterator,
request_streaming, response_streaming) and returns (client_call_details,
request_iterator, postprocess); postprocess, if not None, is applied to
what the continuation returns.
"""
import grpc


class _GenericClientInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, interceptor_function):
        self._fn = interceptor_function

    def _finish(self, postprocess, outcome):
        return postprocess(outcome) if postprocess else outcome

    def intercept_unary_unary(self, continuation, client_call_details, request):
        # A unary request travels through the function as a one-element
        # iterator.
        details, requests, postprocess = self._fn(
            client_call_details, iter((request,)), False, False
        )
        return self._finish(postprocess, continuation(details, next(requests)))

    def intercept_unary_stream(self, continuation, client_call_details, request):
        details, requests, postprocess = self._fn(
            client_call_details, iter((request,)), False, True
        )
        return self._finish(postprocess, continuation(details, next(requests)))

    def intercept_stream_unary(
        self, continuation, client_call_details, request_iterator
    ):
        details, requests, postprocess = self._fn(
            client_call_details, request_iterator, True, False
        )
        return self._finish(postprocess, continuation(details, requests))

    def intercept_stream_stream(
        self, continuation, client_call_details, request_iterator
    ):
        details, requests, postprocess = self._fn(
            client_call_details, request_iterator, True, True
        )
        return self._finish(postprocess, continuation(details, requests))


def create(intercept_call):
    return _GenericClientInterceptor(intercept_call)
