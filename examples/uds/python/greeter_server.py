"""The uds example's greeter_server.py: a Greeter on Unix domain sockets.

Written after grpc/grpc examples/python/uds/greeter_server.py. The
addresses come from EXAMPLE_ADDR, comma-separated (default the original's
two and an abstract socket); the port the core reports for the last one is
written to EXAMPLE_PORT_FILE when set.
"""
from concurrent import futures
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_DEFAULT = "unix:helloworld.sock,unix:///tmp/helloworld.sock,unix-abstract:grpcpy_helloworld"


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, context):
        del request
        # The peer is the client's end of the socket.
        return helloworld_pb2.HelloReply(message=f"Hello to {context.peer()}!")


def serve():
    uds_addresses = os.environ.get("EXAMPLE_ADDR", _DEFAULT).split(",")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    port = 0
    for uds_address in uds_addresses:
        port = server.add_insecure_port(uds_address)
        logging.info("Server listening on: %s", uds_address)
    server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    serve()
