"""The uds example's greeter_client.py: one call per Unix socket address.

Written after grpc/grpc examples/python/uds/greeter_client.py. The targets
come from EXAMPLE_TARGET, comma-separated (default the original's two and
an abstract socket).
"""
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_DEFAULT = "unix:helloworld.sock,unix:///tmp/helloworld.sock,unix-abstract:grpcpy_helloworld"


def run():
    uds_addresses = os.environ.get("EXAMPLE_TARGET", _DEFAULT).split(",")
    for uds_address in uds_addresses:
        with grpc.insecure_channel(uds_address) as channel:
            stub = helloworld_pb2_grpc.GreeterStub(channel)
            response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
            logging.info("Received: %s", response.message)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    run()
