"""keep_alive's greeter_server.py: a Greeter with keepalive server options.

Written after grpc/grpc examples/python/keep_alive/greeter_server.py. The
address comes from EXAMPLE_ADDR (default the original's [::]:50051); the
bound port is written to EXAMPLE_PORT_FILE when set.
"""
from concurrent import futures
import logging
import os
from time import sleep

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, context):
        message = request.name
        # "[delay]..." keeps an RPC in flight for five seconds.
        if message.startswith("[delay]"):
            sleep(5)
        return helloworld_pb2.HelloReply(message=message)


def serve():
    """Serves with the keepalive options (see doc/keepalive.md of grpc/grpc).

    grpc.keepalive_time_ms: ms before the transport pings the peer.
    grpc.keepalive_timeout_ms: ms to wait for the ping's ack before closing.
    grpc.http2.min_ping_interval_without_data_ms: the shortest interval
        between pings the server accepts while it sends no data or headers.
    grpc.max_connection_idle_ms: ms a connection may have no RPC in flight
        before the server closes it with a GOAWAY.
    grpc.max_connection_age_ms: ms a connection may live.
    grpc.max_connection_age_grace_ms: the grace given to RPCs in flight once
        a connection reaches its maximum age.
    grpc.http2.max_pings_without_data: pings allowed before a data or header
        frame must be sent.
    grpc.keepalive_permit_without_calls: 1 allows pings with no RPC in
        flight.
    """
    server_options = [
        ("grpc.keepalive_time_ms", 20000),
        ("grpc.keepalive_timeout_ms", 10000),
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
        ("grpc.max_connection_idle_ms", 10000),
        ("grpc.max_connection_age_ms", 30000),
        ("grpc.max_connection_age_grace_ms", 5000),
        ("grpc.http2.max_pings_without_data", 5),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    server = grpc.server(
        thread_pool=futures.ThreadPoolExecutor(max_workers=10),
        options=server_options,
    )
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    port = server.add_insecure_port(os.environ.get("EXAMPLE_ADDR", "[::]:50051"))
    server.start()
    print("Server started, listening on %d" % port)
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig()
    serve()
