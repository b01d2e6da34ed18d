"""helloworld's greeter_client_with_options.py: channel options and a
per-call timeout (target from EXAMPLE_TARGET)."""
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def run():
    # Options as the original passes them: pick_first, no retries, a
    # keepalive timeout.
    options = [
        ("grpc.lb_policy_name", "pick_first"),
        ("grpc.enable_retries", 0),
        ("grpc.keepalive_timeout_ms", 10000),
    ]
    with grpc.insecure_channel(os.environ.get("EXAMPLE_TARGET", "localhost:50051"), options=options) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"), timeout=10)
    print("Greeter client received: " + response.message)


if __name__ == "__main__":
    logging.basicConfig()
    run()
