"""flaky_server.py: a Greeter that fails most early attempts.

Written after grpc/grpc examples/python/retry/flaky_server.py (a grpc.aio
server). The address comes from EXAMPLE_ADDR (default the original's
[::]:50051); the bound port is written to EXAMPLE_PORT_FILE when set.
"""
import asyncio
import collections
import logging
import os
import random

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


class ErrorInjectingGreeter(helloworld_pb2_grpc.GreeterServicer):
    def __init__(self):
        # Attempts seen per peer (one connection each).
        self._counter = collections.defaultdict(int)

    async def SayHello(self, request, context):
        self._counter[context.peer()] += 1
        # A peer's first four attempts fail three times in four; the fifth
        # always succeeds.
        if self._counter[context.peer()] < 5:
            if random.random() < 0.75:
                logging.info("Injecting error to RPC from %s", context.peer())
                await context.abort(grpc.StatusCode.UNAVAILABLE, "injected error")
        logging.info("Successfully responding to RPC from %s", context.peer())
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


async def serve():
    server = grpc.aio.server()
    helloworld_pb2_grpc.add_GreeterServicer_to_server(ErrorInjectingGreeter(), server)
    listen_addr = os.environ.get("EXAMPLE_ADDR", "[::]:50051")
    port = server.add_insecure_port(listen_addr)
    logging.info("Starting flaky server on %s", listen_addr)
    await server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    await server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    asyncio.run(serve())
