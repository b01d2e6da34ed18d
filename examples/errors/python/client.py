"""errors' client.py: one greeting, and the failure logged when the server
refuses it.

The original then reads the rich status (grpcio-status's
rpc_status.from_call) and logs its QuotaFailure detail; without
grpcio-status (not in Debian's python3) and without rich-status support in
grpcpy yet, this port logs the code and details instead.

The target comes from EXAMPLE_TARGET (default the original's
'localhost:50051').
"""
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_LOGGER = logging.getLogger(__name__)


def process(stub):
    try:
        response = stub.SayHello(helloworld_pb2.HelloRequest(name="Alice"))
        _LOGGER.info("Call success: %s", response.message)
    except grpc.RpcError as rpc_error:
        _LOGGER.error("Call failure: %s", rpc_error)
        # Where the original unpacks the QuotaFailure detail, the code and
        # the details are what there is.
        _LOGGER.error("Status: code=%s details=%s", rpc_error.code(), rpc_error.details())


def main():
    with grpc.insecure_channel(os.environ.get("EXAMPLE_TARGET", "localhost:50051")) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        process(stub)


if __name__ == "__main__":
    logging.basicConfig()
    main()
