"""health_checking's greeter_server.py: a Greeter server with health checking.

Written after grpc/grpc examples/python/health_checking/greeter_server.py.
The address comes from EXAMPLE_ADDR (default the original's [::]:50051);
the bound port is written to EXAMPLE_PORT_FILE when set; EXAMPLE_DELAY_SCALE
scales the 5 seconds between toggles (default 1).
"""
from concurrent import futures
import logging
import os
import threading
from time import sleep

import grpc
from grpc_health.v1 import health
from grpc_health.v1 import health_pb2
from grpc_health.v1 import health_pb2_grpc
import helloworld_pb2
import helloworld_pb2_grpc

_DELAY_SCALE = float(os.environ.get("EXAMPLE_DELAY_SCALE", "1"))


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, context):
        # Answers with the name alone, as the original does.
        return helloworld_pb2.HelloReply(message=request.name)


def _toggle_health(health_servicer, service):
    """Flips service between NOT_SERVING and SERVING every 5 seconds."""
    next_status = health_pb2.HealthCheckResponse.SERVING
    while True:
        if next_status == health_pb2.HealthCheckResponse.SERVING:
            next_status = health_pb2.HealthCheckResponse.NOT_SERVING
        else:
            next_status = health_pb2.HealthCheckResponse.SERVING
        health_servicer.set(service, next_status)
        sleep(5 * _DELAY_SCALE)


def _configure_health_server(server):
    health_servicer = health.HealthServicer(
        experimental_non_blocking=True,
        experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=10),
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # A daemon thread: it dies with the server process.
    toggler = threading.Thread(
        target=_toggle_health,
        args=(health_servicer, "helloworld.Greeter"),
        daemon=True,
    )
    toggler.start()


def serve():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    port = server.add_insecure_port(os.environ.get("EXAMPLE_ADDR", "[::]:50051"))
    _configure_health_server(server)
    server.start()
    print("Server started, listening on %d" % port)
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig()
    serve()
