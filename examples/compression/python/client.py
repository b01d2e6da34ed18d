"""compression's client.py: one SayHello, compressed with the channel's
algorithm or the call's.

Written after grpc/grpc examples/python/compression/client.py. --server
defaults to EXAMPLE_TARGET (else the original's 'localhost:50051').
--name_size is an addition: a name of that many bytes ('youyouyo...')
instead of 'you', so a test can see the compression on the wire.
"""
import argparse
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_DESCRIPTION = "A client capable of compression."
_COMPRESSION_OPTIONS = {
    "none": grpc.Compression.NoCompression,
    "deflate": grpc.Compression.Deflate,
    "gzip": grpc.Compression.Gzip,
}

_LOGGER = logging.getLogger(__name__)


def run_client(channel_compression, call_compression, target, name):
    # The channel's algorithm applies to every call on it; a call's own
    # compression= wins over it (grpcio 1.51 reads NoCompression as unset).
    with grpc.insecure_channel(target, compression=channel_compression) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        response = stub.SayHello(
            helloworld_pb2.HelloRequest(name=name),
            compression=call_compression,
            wait_for_ready=True,
        )
        print("Response: {}".format(response))


def main():
    parser = argparse.ArgumentParser(description=_DESCRIPTION)
    parser.add_argument(
        "--channel_compression",
        default="none",
        nargs="?",
        choices=_COMPRESSION_OPTIONS.keys(),
        help="The compression method to use for the channel.",
    )
    parser.add_argument(
        "--call_compression",
        default="none",
        nargs="?",
        choices=_COMPRESSION_OPTIONS.keys(),
        help="The compression method to use for an individual call.",
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("EXAMPLE_TARGET", "localhost:50051"),
        type=str,
        nargs="?",
        help="The host-port pair at which to reach the server.",
    )
    parser.add_argument(
        "--name_size",
        type=int,
        default=0,
        help="If set, send a name of this many bytes instead of 'you'.",
    )
    args = parser.parse_args()
    name = "you"
    if args.name_size > 0:
        name = ("you" * (args.name_size // 3 + 1))[: args.name_size]
    run_client(
        _COMPRESSION_OPTIONS[args.channel_compression],
        _COMPRESSION_OPTIONS[args.call_compression],
        args.server,
        name,
    )


if __name__ == "__main__":
    logging.basicConfig()
    main()
