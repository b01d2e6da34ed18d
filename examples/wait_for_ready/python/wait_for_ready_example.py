"""wait_for_ready's wait_for_ready_example.py: two RPCs started before the
server is up; the fail-fast one fails with UNAVAILABLE, the one with
wait_for_ready=True waits for the server and is answered.

With neither variable set it runs both halves in one process, as the
original does. EXAMPLE_TARGET runs the client half only against that
address: it prints "Waiting for a server at <target>" once the channel is
in TRANSIENT_FAILURE and waits for someone to start one there.
EXAMPLE_ADDR runs the server half only (the bound port is written to
EXAMPLE_PORT_FILE when set), until killed.
"""
from concurrent import futures
from contextlib import contextmanager
import logging
import os
import socket
import threading

import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_LOGGER = logging.getLogger(__name__)
_LOGGER.setLevel(logging.INFO)


@contextmanager
def get_free_loopback_tcp_port():
    # Bound, never listening: connecting to it is refused.
    tcp_socket = socket.socket(socket.AF_INET)
    tcp_socket.bind(("127.0.0.1", 0))
    address_tuple = tcp_socket.getsockname()
    yield "127.0.0.1:%s" % (address_tuple[1])
    tcp_socket.close()


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, unused_context):
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


def create_server(server_address):
    server = grpc.server(futures.ThreadPoolExecutor())
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    bound_port = server.add_insecure_port(server_address)
    requested = int(server_address.split(":")[-1])
    assert requested in (0, bound_port)
    return server, bound_port


def process(stub, wait_for_ready=None):
    try:
        response = stub.SayHello(
            helloworld_pb2.HelloRequest(name="you"), wait_for_ready=wait_for_ready
        )
        message = response.message
    except grpc.RpcError as rpc_error:
        # Only the fail-fast RPC may fail, and only for want of a server.
        assert rpc_error.code() == grpc.StatusCode.UNAVAILABLE
        assert not wait_for_ready
        message = rpc_error
    else:
        assert wait_for_ready
    _LOGGER.info(
        "Wait-for-ready %s, client received: %s",
        "enabled" if wait_for_ready else "disabled",
        message,
    )


def serve_only(server_address):
    server, port = create_server(server_address)
    server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


def main():
    if os.environ.get("EXAMPLE_ADDR"):
        serve_only(os.environ["EXAMPLE_ADDR"])
        return
    target = os.environ.get("EXAMPLE_TARGET")

    # Pick a random free port (or take the one given)
    with get_free_loopback_tcp_port() as free_address:
        server_address = target or free_address

        # Set from the connectivity callback, waited on by the main thread
        transient_failure_event = threading.Event()

        def wait_for_transient_failure(channel_connectivity):
            if channel_connectivity == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                transient_failure_event.set()

        channel = grpc.insecure_channel(server_address)
        channel.subscribe(wait_for_transient_failure)
        stub = helloworld_pb2_grpc.GreeterStub(channel)

        # Without wait_for_ready: fails fast
        thread_disabled_wait_for_ready = threading.Thread(
            target=process, args=(stub, False)
        )
        thread_disabled_wait_for_ready.start()
        # With wait_for_ready: waits for the server
        thread_enabled_wait_for_ready = threading.Thread(
            target=process, args=(stub, True)
        )
        thread_enabled_wait_for_ready.start()

    # No server yet: the channel enters TRANSIENT_FAILURE.
    transient_failure_event.wait()
    server = None
    if target:
        print("Waiting for a server at %s" % server_address)
    else:
        server, _ = create_server(server_address)
        server.start()

    # Expected to fail with StatusCode.UNAVAILABLE.
    thread_disabled_wait_for_ready.join()
    # Expected to succeed.
    thread_enabled_wait_for_ready.join()

    if server is not None:
        server.stop(None)
    channel.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
