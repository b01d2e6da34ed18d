"""auth's customized_auth_server.py: a TLS greeter whose interceptor
requires the header x-signature: <method name reversed>.

The address comes from EXAMPLE_ADDR (default the original's
'localhost:50051', there 'localhost:%d' % --port); the bound port is
written to EXAMPLE_PORT_FILE when set. Certificates: see _credentials.py.
"""
import contextlib
import logging
import os
from concurrent import futures

import _credentials
import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_LOGGER = logging.getLogger(__name__)
_LOGGER.setLevel(logging.INFO)

_SIGNATURE_HEADER_KEY = "x-signature"


class SignatureValidationInterceptor(grpc.ServerInterceptor):
    def __init__(self):
        def abort(ignored_request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Invalid signature")

        # The handler every unsigned RPC gets instead of the real one.
        self._abortion = grpc.unary_unary_rpc_method_handler(abort)

    def intercept_service(self, continuation, handler_call_details):
        # handler_call_details.method is '/helloworld.Greeter/SayHello'.
        method_name = handler_call_details.method.split("/")[-1]
        expected_metadata = (_SIGNATURE_HEADER_KEY, method_name[::-1])
        if expected_metadata in handler_call_details.invocation_metadata:
            return continuation(handler_call_details)
        else:
            return self._abortion


class SimpleGreeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, unused_context):
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


@contextlib.contextmanager
def run_server(address):
    # The interceptor sees every RPC before its handler is chosen.
    server = grpc.server(
        futures.ThreadPoolExecutor(),
        interceptors=(SignatureValidationInterceptor(),),
    )
    helloworld_pb2_grpc.add_GreeterServicer_to_server(SimpleGreeter(), server)

    server_credentials = grpc.ssl_server_credentials(
        ((_credentials.SERVER_CERTIFICATE_KEY, _credentials.SERVER_CERTIFICATE),)
    )
    port = server.add_secure_port(address, server_credentials)

    server.start()
    try:
        yield server, port
    finally:
        server.stop(0)


def main():
    with run_server(os.environ.get("EXAMPLE_ADDR", "localhost:50051")) as (server, port):
        logging.info("Server is listening at port :%d", port)
        if os.environ.get("EXAMPLE_PORT_FILE"):
            with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
                f.write(str(port))
        server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
