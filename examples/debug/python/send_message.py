"""debug's send_message.py: n greetings, each reply or error printed.

The target comes from EXAMPLE_TARGET (default the original's '[::]:50051')
unless --addr is given.
"""
import argparse
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def process(stub, request):
    try:
        response = stub.SayHello(request)
    except grpc.RpcError as rpc_error:
        print("Received error: %s" % rpc_error)
    else:
        print("Received message: %s" % response)


def run(addr, n):
    with grpc.insecure_channel(addr) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        request = helloworld_pb2.HelloRequest(name="you")
        for _ in range(n):
            process(stub, request)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--addr",
        type=str,
        default=os.environ.get("EXAMPLE_TARGET", "[::]:50051"),
        help="the address to request",
    )
    parser.add_argument(
        "-n", type=int, default=10, help="an integer for number of messages to sent"
    )
    args = parser.parse_args()
    run(addr=args.addr, n=args.n)


if __name__ == "__main__":
    logging.basicConfig()
    main()
