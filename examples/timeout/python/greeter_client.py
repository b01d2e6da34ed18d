"""timeout's greeter_client.py: calls with a per-call timeout.

The target comes from EXAMPLE_TARGET (default the original's
'localhost:50051').
"""
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def unary_call(stub: helloworld_pb2_grpc.GreeterStub, request_id: int, message: str):
    print("call:", request_id)
    try:
        # timeout=3: the RPC's deadline is three seconds from now.
        response = stub.SayHello(helloworld_pb2.HelloRequest(name=message), timeout=3)
        print(f"Greeter client received: {response.message}")
    except grpc.RpcError as rpc_error:
        print(f"Call failed with code: {rpc_error.code()}")


def run():
    with grpc.insecure_channel(os.environ.get("EXAMPLE_TARGET", "localhost:50051")) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        # Answered at once.
        unary_call(stub, 1, "you")
        # The server sleeps past the deadline: DEADLINE_EXCEEDED.
        unary_call(stub, 2, "[delay] you")


if __name__ == "__main__":
    logging.basicConfig()
    run()
