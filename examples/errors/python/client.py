"""errors' client.py: one greeting; when the server refuses it, the rich
error status is read back from the trailing metadata (rpc_status.from_call)
and its QuotaFailure detail logged.

google.rpc's messages come from googleapis-common-protos and rpc_status
from grpcio-status, two PyPI packages Debian's python3 lacks; here they come
from standin/ (see README.md). The target comes from EXAMPLE_TARGET
(default the original's 'localhost:50051').
"""
import logging
import os

from google.rpc import error_details_pb2
import grpc
from grpc_status import rpc_status

import helloworld_pb2
import helloworld_pb2_grpc

_LOGGER = logging.getLogger(__name__)


def process(stub):
    try:
        response = stub.SayHello(helloworld_pb2.HelloRequest(name="Alice"))
        _LOGGER.info("Call success: %s", response.message)
    except grpc.RpcError as rpc_error:
        _LOGGER.error("Call failure: %s", rpc_error)
        status = rpc_status.from_call(rpc_error)
        for detail in status.details:
            if detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
                info = error_details_pb2.QuotaFailure()
                detail.Unpack(info)
                _LOGGER.error("Quota failure: %s", info)
            else:
                raise RuntimeError("Unexpected failure: %s" % detail)


def main():
    with grpc.insecure_channel(os.environ.get("EXAMPLE_TARGET", "localhost:50051")) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        process(stub)


if __name__ == "__main__":
    logging.basicConfig()
    main()
