"""interceptors/headers' request_header_validator_interceptor.py: a server
interceptor that lets through only the RPCs carrying a given header."""
import grpc


def _unary_unary_rpc_terminator(code, details):
    # A handler that ends any RPC it gets with code and details.
    def terminate(ignored_request, context):
        context.abort(code, details)

    return grpc.unary_unary_rpc_method_handler(terminate)


class RequestHeaderValidatorInterceptor(grpc.ServerInterceptor):
    def __init__(self, header, value, code, details):
        self._header = header
        self._value = value
        self._terminator = _unary_unary_rpc_terminator(code, details)

    def intercept_service(self, continuation, handler_call_details):
        # Runs before any handler, with the method and the client's
        # metadata only.
        wanted = (self._header, self._value)
        if wanted in handler_call_details.invocation_metadata:
            return continuation(handler_call_details)
        return self._terminator
