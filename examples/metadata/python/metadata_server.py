"""metadata's metadata_server.py: a greeter that prints the metadata each
call arrives with and answers with trailing metadata of its own.

The address comes from EXAMPLE_ADDR (default the original's '[::]:50051');
the bound port is written to EXAMPLE_PORT_FILE when set.
"""
from concurrent import futures
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


class Greeter(helloworld_pb2_grpc.GreeterServicer):
    def SayHello(self, request, context):
        # The client's headers: its own entries and what its library adds
        # (user-agent).
        for key, value in context.invocation_metadata():
            print("Received initial metadata: key=%s value=%s" % (key, value))

        # Sent after the response, with the status; a -bin key takes bytes.
        context.set_trailing_metadata(
            (("checksum-bin", b"I agree"), ("retry", "false"))
        )
        return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)


def serve():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    port = server.add_insecure_port(os.environ.get("EXAMPLE_ADDR", "[::]:50051"))
    server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    logging.basicConfig()
    serve()
