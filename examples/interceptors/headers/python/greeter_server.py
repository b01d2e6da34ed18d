"""interceptors/headers' greeter_server.py: a greeter behind a server
interceptor that refuses RPCs without "one-time-password: 42".

The address comes from EXAMPLE_ADDR (default the original's '[::]:50051');
the bound port is written to EXAMPLE_PORT_FILE when set.
"""
from concurrent import futures
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc
from request_header_validator_interceptor import (
    RequestHeaderValidatorInterceptor,
)


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, context):
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


def serve():
    header_validator = RequestHeaderValidatorInterceptor(
        "one-time-password",
        "42",
        grpc.StatusCode.UNAUTHENTICATED,
        "Access denied!",
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=10),
        interceptors=[header_validator],
    )
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    port = server.add_insecure_port(os.environ.get("EXAMPLE_ADDR", "[::]:50051"))
    server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig()
    serve()
