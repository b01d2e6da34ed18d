"""metadata's metadata_client.py: one greeting with metadata attached, and
the server's trailing metadata read from the call object with_call gives.

The target comes from EXAMPLE_TARGET (default the original's
'localhost:50051').
"""
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def run():
    target = os.environ.get("EXAMPLE_TARGET", "localhost:50051")
    with grpc.insecure_channel(target) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        # with_call returns the response and the call, whose metadata
        # stays readable after the RPC.
        response, call = stub.SayHello.with_call(
            helloworld_pb2.HelloRequest(name="you"),
            metadata=(
                ("initial-metadata-1", "The value should be str"),
                (
                    "binary-metadata-bin",
                    b"With -bin surffix, the value can be bytes",
                ),
                ("accesstoken", "gRPC Python is great"),
            ),
        )

    print("Greeter client received: " + response.message)
    for key, value in call.trailing_metadata():
        print(
            "Greeter client received trailing metadata: key=%s value=%s"
            % (key, value)
        )


if __name__ == "__main__":
    logging.basicConfig()
    run()
