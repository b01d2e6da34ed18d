"""interceptors/headers' greeter_client.py: a greeting through a channel
whose interceptor adds the header the server demands.

The target comes from EXAMPLE_TARGET (default the original's
'localhost:50051').
"""
import logging
import os

import grpc
import header_manipulator_client_interceptor
import helloworld_pb2
import helloworld_pb2_grpc


def run():
    header_adder_interceptor = (
        header_manipulator_client_interceptor.header_adder_interceptor(
            "one-time-password", "42"
        )
    )
    target = os.environ.get("EXAMPLE_TARGET", "localhost:50051")
    with grpc.insecure_channel(target) as channel:
        intercept_channel = grpc.intercept_channel(
            channel, header_adder_interceptor
        )
        stub = helloworld_pb2_grpc.GreeterStub(intercept_channel)
        response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
    print("Greeter client received: " + response.message)


if __name__ == "__main__":
    logging.basicConfig()
    run()
