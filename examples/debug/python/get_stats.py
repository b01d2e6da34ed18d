"""debug's get_stats.py: the servers' channelz statistics.

The target comes from EXAMPLE_TARGET (default the original's '[::]:50051')
unless --addr is given. Without grpcio-channelz (not in Debian's python3)
the stubs are channelz_pb2 and channelz_pb2_grpc generated from
grpc/channelz/v1/channelz.proto, as the original imports them under Bazel.
"""
import argparse
import logging
import os

import grpc

try:
    from grpc_channelz.v1 import channelz_pb2
    from grpc_channelz.v1 import channelz_pb2_grpc
except ImportError:
    import channelz_pb2
    import channelz_pb2_grpc


def run(addr):
    with grpc.insecure_channel(addr) as channel:
        channelz_stub = channelz_pb2_grpc.ChannelzStub(channel)
        # GetServers reports, per server, the calls started, succeeded and
        # failed, and its sockets (grpc/channelz/v1/channelz.proto).
        response = channelz_stub.GetServers(channelz_pb2.GetServersRequest())
        print(f"Info for all servers: {response}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--addr",
        type=str,
        default=os.environ.get("EXAMPLE_TARGET", "[::]:50051"),
        help="the address to request",
    )
    args = parser.parse_args()
    run(addr=args.addr)


if __name__ == "__main__":
    logging.basicConfig()
    main()
