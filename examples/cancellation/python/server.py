"""cancellation's server.py: a HashFinder whose handlers notice at once
that their RPC ended, on a server with one worker thread.

The address comes from EXAMPLE_ADDR (default the original's
'localhost:50051', there 'localhost:%d' % --port); the bound port is
written to EXAMPLE_PORT_FILE when set.
"""
import argparse
from concurrent import futures
import logging
import os
import threading

import grpc
import hash_name_pb2
import hash_name_pb2_grpc
import search

_LOGGER = logging.getLogger(__name__)

_DESCRIPTION = "A server for finding hashes similar to names."


class HashFinder(hash_name_pb2_grpc.HashFinderServicer):
    def __init__(self, maximum_hashes):
        super(HashFinder, self).__init__()
        self._maximum_hashes = maximum_hashes

    def Find(self, request, context):
        stop_event = threading.Event()

        def on_rpc_done():
            _LOGGER.debug("Attempting to regain servicer thread.")
            stop_event.set()

        # Runs when the RPC ends for any reason, client cancellation included.
        context.add_callback(on_rpc_done)
        candidates = []
        try:
            candidates = list(
                search.search(
                    request.desired_name,
                    request.ideal_hamming_distance,
                    stop_event,
                    self._maximum_hashes,
                )
            )
        except search.ResourceLimitExceededError:
            _LOGGER.info("Cancelling RPC due to exhausted resources.")
            context.cancel()
        _LOGGER.debug("Servicer thread returning.")
        if not candidates:
            return hash_name_pb2.HashNameResponse()
        return candidates[-1]

    def FindRange(self, request, context):
        stop_event = threading.Event()

        def on_rpc_done():
            _LOGGER.debug("Attempting to regain servicer thread.")
            stop_event.set()

        context.add_callback(on_rpc_done)
        secret_generator = search.search(
            request.desired_name,
            request.ideal_hamming_distance,
            stop_event,
            self._maximum_hashes,
            interesting_hamming_distance=request.interesting_hamming_distance,
        )
        try:
            for candidate in secret_generator:
                yield candidate
        except search.ResourceLimitExceededError:
            _LOGGER.info("Cancelling RPC due to exhausted resources.")
            context.cancel()
        _LOGGER.debug("Regained servicer thread.")


def _running_server(address, maximum_hashes):
    # One worker thread: a cancelled RPC must give it back for the server
    # to go on serving.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=1), maximum_concurrent_rpcs=1
    )
    hash_name_pb2_grpc.add_HashFinderServicer_to_server(
        HashFinder(maximum_hashes), server
    )
    actual_port = server.add_insecure_port(address)
    server.start()
    print("Server listening at '{}'".format(address))
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(actual_port))
    return server


def main():
    parser = argparse.ArgumentParser(description=_DESCRIPTION)
    parser.add_argument(
        "--maximum-hashes",
        type=int,
        default=1000000,
        nargs="?",
        help="The maximum number of hashes to search before cancelling.",
    )
    args = parser.parse_args()
    address = os.environ.get("EXAMPLE_ADDR", "localhost:50051")
    server = _running_server(address, args.maximum_hashes)
    server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig()
    main()
