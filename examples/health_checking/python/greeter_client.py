"""health_checking's greeter_client.py: a Greeter client that checks health.

Written after grpc/grpc examples/python/health_checking/greeter_client.py.
The target comes from EXAMPLE_TARGET (default the original's
localhost:50051); EXAMPLE_DELAY_SCALE scales the second between checks
(default 1).
"""
import logging
import os
from time import sleep

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1 import health_pb2_grpc
import helloworld_pb2
import helloworld_pb2_grpc

_DELAY_SCALE = float(os.environ.get("EXAMPLE_DELAY_SCALE", "1"))


def unary_call(stub, message):
    response = stub.SayHello(helloworld_pb2.HelloRequest(name=message), timeout=3)
    print(f"Greeter client received: {response.message}")


def health_check_call(stub):
    request = health_pb2.HealthCheckRequest(service="helloworld.Greeter")
    resp = stub.Check(request)
    if resp.status == health_pb2.HealthCheckResponse.SERVING:
        print("server is serving")
    elif resp.status == health_pb2.HealthCheckResponse.NOT_SERVING:
        print("server stopped serving")


def run():
    target = os.environ.get("EXAMPLE_TARGET", "localhost:50051")
    with grpc.insecure_channel(target) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        health_stub = health_pb2_grpc.HealthStub(channel)
        # One greeting first; it should succeed.
        unary_call(stub, "you")

        # Then a health check every second, thirty times.
        for _ in range(30):
            health_check_call(health_stub)
            sleep(1 * _DELAY_SCALE)


if __name__ == "__main__":
    logging.basicConfig()
    run()
