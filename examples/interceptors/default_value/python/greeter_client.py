"""interceptors/default_value's greeter_client.py: a greeting through a
channel whose interceptor answers with a default value if the RPC fails.
It talks to any helloworld greeter server.

The target comes from EXAMPLE_TARGET (default the original's
'localhost:50051').
"""
import os

import default_value_client_interceptor
import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def run():
    default_value = helloworld_pb2.HelloReply(
        message="Hello from your local interceptor!"
    )
    default_value_interceptor = (
        default_value_client_interceptor.DefaultValueClientInterceptor(
            default_value
        )
    )
    channel = grpc.insecure_channel(
        os.environ.get("EXAMPLE_TARGET", "localhost:50051")
    )
    channel = grpc.intercept_channel(channel, default_value_interceptor)
    stub = helloworld_pb2_grpc.GreeterStub(channel)
    response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
    print("Greeter client received: " + response.message)


if __name__ == "__main__":
    run()
