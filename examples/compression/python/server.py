"""compression's server.py: a greeter that compresses its responses with
the server's default algorithm, except every nth one, sent plain.

Written after grpc/grpc examples/python/compression/server.py. The address
comes from EXAMPLE_ADDR (default the original's 'localhost:%d' % --port);
the bound port is written to EXAMPLE_PORT_FILE when set.
"""
import argparse
from concurrent import futures
import logging
import os
import threading

import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_DESCRIPTION = "A server capable of compression."
_COMPRESSION_OPTIONS = {
    "none": grpc.Compression.NoCompression,
    "deflate": grpc.Compression.Deflate,
    "gzip": grpc.Compression.Gzip,
}
_LOGGER = logging.getLogger(__name__)

_SERVER_HOST = "localhost"


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def __init__(self, no_compress_every_n):
        super(Greeter, self).__init__()
        self._no_compress_every_n = no_compress_every_n
        self._request_counter = 0
        self._counter_lock = threading.RLock()

    def _should_suppress_compression(self):
        # Requests 0, n, 2n, ... (counted from 0) get a plain response.
        with self._counter_lock:
            suppress = bool(
                self._no_compress_every_n
                and self._request_counter % self._no_compress_every_n == 0
            )
            self._request_counter += 1
        return suppress

    def SayHello(self, request, context):
        if self._should_suppress_compression():
            # The original's call. grpcio 1.51 drops it: NoCompression is
            # member 0, which its "if compression:" reads as unset ...
            context.set_compression(grpc.Compression.NoCompression)
            # ... so the response is marked not to be compressed as well.
            context.disable_next_message_compression()
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


def run_server(server_compression, no_compress_every_n, port):
    server = grpc.server(
        futures.ThreadPoolExecutor(),
        compression=server_compression,
        options=(("grpc.so_reuseport", 1),),
    )
    helloworld_pb2_grpc.add_GreeterServicer_to_server(
        Greeter(no_compress_every_n), server
    )
    address = os.environ.get("EXAMPLE_ADDR", "{}:{}".format(_SERVER_HOST, port))
    bound_port = server.add_insecure_port(address)
    server.start()
    print("Server listening at '{}'".format(address))
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(bound_port))
    server.wait_for_termination()


def main():
    parser = argparse.ArgumentParser(description=_DESCRIPTION)
    parser.add_argument(
        "--server_compression",
        default="none",
        nargs="?",
        choices=_COMPRESSION_OPTIONS.keys(),
        help="The default compression method for the server.",
    )
    parser.add_argument(
        "--no_compress_every_n",
        type=int,
        default=0,
        nargs="?",
        help="If set, every nth reply will be uncompressed.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=50051,
        nargs="?",
        help="The port on which the server will listen.",
    )
    args = parser.parse_args()
    run_server(
        _COMPRESSION_OPTIONS[args.server_compression],
        args.no_compress_every_n,
        args.port,
    )


if __name__ == "__main__":
    logging.basicConfig()
    main()
