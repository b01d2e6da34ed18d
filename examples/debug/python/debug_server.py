"""debug's debug_server.py: a greeter failing a share of its calls, with
channelz on the same server.

Two deviations from the original: the address comes from EXAMPLE_ADDR
(default the original's '[::]:50051') unless --addr is given, and the
bound port is written to EXAMPLE_PORT_FILE when set; and grpcio-channelz
(grpc_channelz) is optional, because Debian's python3 does not have it:
without it the server serves the greeter only and says so.
"""
import argparse
from concurrent import futures
import logging
import os
import random

import grpc
import helloworld_pb2
import helloworld_pb2_grpc

try:
    from grpc_channelz.v1 import channelz
except ImportError:  # grpcio-channelz is not packaged by Debian
    channelz = None

_LOGGER = logging.getLogger(__name__)
_LOGGER.setLevel(logging.INFO)


class FaultInjectGreeter(helloworld_pb2_grpc.GreeterServicer):
    def __init__(self, failure_rate):
        self._failure_rate = failure_rate

    def SayHello(self, request, context):
        if random.random() < self._failure_rate:
            context.abort(grpc.StatusCode.UNAVAILABLE, "Randomly injected failure.")
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


def create_server(addr, failure_rate):
    server = grpc.server(futures.ThreadPoolExecutor())
    helloworld_pb2_grpc.add_GreeterServicer_to_server(
        FaultInjectGreeter(failure_rate), server
    )

    # The channelz servicer answers for every channel and server of the process.
    if channelz is not None:
        channelz.add_channelz_servicer(server)
    else:
        _LOGGER.warning("grpc_channelz is not installed: serving without channelz")

    port = server.add_insecure_port(addr)
    return server, port


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--addr",
        type=str,
        default=os.environ.get("EXAMPLE_ADDR", "[::]:50051"),
        help="the address to listen on",
    )
    parser.add_argument(
        "--failure_rate",
        type=float,
        default=0.3,
        help="a float indicates the percentage of failed message injections",
    )
    args = parser.parse_args()

    server, port = create_server(addr=args.addr, failure_rate=args.failure_rate)
    server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
