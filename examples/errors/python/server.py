"""errors' server.py: a greeter that greets each name once.

The original answers a repeated name with a rich status: a
google.rpc.Status whose details hold a QuotaFailure, packed into the
trailing metadata by grpcio-status (rpc_status.to_status). grpcio-status
and googleapis-common-protos are not in Debian's python3, and grpcpy has no
rich-status support yet, so this port sends the code and details only.

The address comes from EXAMPLE_ADDR (default the original's
'[::]:50051'); the bound port is written to EXAMPLE_PORT_FILE when set.
"""
from concurrent import futures
import logging
import os
import threading

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


class LimitedGreeter(helloworld_pb2_grpc.GreeterServicer):
    def __init__(self):
        self._lock = threading.RLock()
        self._greeted = set()

    def SayHello(self, request, context):
        with self._lock:
            if request.name in self._greeted:
                # The original: context.abort_with_status(
                #     rpc_status.to_status(create_greet_limit_exceed_error_status(name)))
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED, "Request limit exceeded."
                )
            else:
                self._greeted.add(request.name)
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


def create_server(server_address):
    server = grpc.server(futures.ThreadPoolExecutor())
    helloworld_pb2_grpc.add_GreeterServicer_to_server(LimitedGreeter(), server)
    port = server.add_insecure_port(server_address)
    return server, port


def serve(server, port):
    server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


def main():
    server, port = create_server(os.environ.get("EXAMPLE_ADDR", "[::]:50051"))
    serve(server, port)


if __name__ == "__main__":
    logging.basicConfig()
    main()
