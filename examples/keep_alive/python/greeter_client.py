"""keep_alive's greeter_client.py: a Greeter client with keepalive options.

Written after grpc/grpc examples/python/keep_alive/greeter_client.py. The
target comes from EXAMPLE_TARGET (default the original's localhost:50051).
"""
import logging
import os
from time import sleep

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def unary_call(stub, request_id, message):
    print("call:", request_id)
    try:
        response = stub.SayHello(helloworld_pb2.HelloRequest(name=message))
        print(f"Greeter client received: {response.message}")
    except grpc.RpcError as rpc_error:
        print("Call failed with code: ", rpc_error.code())


def run():
    """Calls once, then idles 30 seconds on a channel that pings.

    grpc.keepalive_time_ms: ms before the transport pings the server.
    grpc.keepalive_timeout_ms: ms to wait for the ping's ack before closing.
    grpc.keepalive_permit_without_calls: 1 pings with no RPC in flight too.
    grpc.http2.max_pings_without_data: pings allowed before a data or header
        frame must be sent.
    See doc/keepalive.md of grpc/grpc.
    """
    channel_options = [
        ("grpc.keepalive_time_ms", 8000),
        ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.http2.max_pings_without_data", 5),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    target = os.environ.get("EXAMPLE_TARGET", "localhost:50051")
    with grpc.insecure_channel(target=target, options=channel_options) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        # Should succeed.
        unary_call(stub, 1, "you")

        # Idle for 30 seconds. With GRPC_VERBOSITY=DEBUG
        # GRPC_TRACE=http_keepalive the log shows the pings; the server's
        # max_connection_idle_ms then closes the connection with a GOAWAY.
        for i in range(30):
            print(f"{i} seconds paased.")
            sleep(1)


if __name__ == "__main__":
    logging.basicConfig()
    run()
