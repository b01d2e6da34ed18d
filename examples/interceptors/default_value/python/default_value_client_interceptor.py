"""interceptors/default_value's default_value_client_interceptor.py: a
client interceptor for the unary-response shapes that puts a fixed value
in place of a failed RPC's outcome."""
import grpc


class _ConcreteValue(grpc.Future):
    """A Future that is already done, with a result."""

    def __init__(self, result):
        self._result = result

    def cancel(self):
        return False

    def cancelled(self):
        return False

    def running(self):
        return False

    def done(self):
        return True

    def result(self, timeout=None):
        return self._result

    def exception(self, timeout=None):
        return None

    def traceback(self, timeout=None):
        return None

    def add_done_callback(self, fn):
        # As the original: fn gets the result (a done callback is usually
        # given the future itself).
        fn(self._result)


class DefaultValueClientInterceptor(
    grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor
):
    def __init__(self, value):
        self._default = _ConcreteValue(value)

    def _intercept_call(
        self, continuation, client_call_details, request_or_iterator
    ):
        response = continuation(client_call_details, request_or_iterator)
        # A failed RPC's outcome is replaced by the default.
        return self._default if response.exception() else response

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return self._intercept_call(continuation, client_call_details, request)

    def intercept_stream_unary(
        self, continuation, client_call_details, request_iterator
    ):
        return self._intercept_call(
            continuation, client_call_details, request_iterator
        )
