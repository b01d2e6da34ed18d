"""data_transmission's server.py: the four RPC shapes, server side.

Written after grpc/grpc examples/python/data_transmission/server.py. The
address comes from EXAMPLE_ADDR (default the original's localhost:23333);
the bound port is written to EXAMPLE_PORT_FILE when set.
"""
from concurrent import futures
import os
from threading import Thread

import grpc

import demo_pb2
import demo_pb2_grpc

SERVER_ADDRESS = os.environ.get("EXAMPLE_ADDR", "localhost:23333")
SERVER_ID = 1


class DemoServer(demo_pb2_grpc.GRPCDemoServicer):
    # unary-unary: one request in, one response out.
    def SimpleMethod(self, request, context):
        print(
            f"SimpleMethod called by client({request.client_id}) "
            f"the message: {request.request_data}"
        )
        return demo_pb2.Response(
            server_id=SERVER_ID,
            response_data="Python server SimpleMethod Ok!!!!",
        )

    # stream-unary: the client streams, the server answers once.
    def ClientStreamingMethod(self, request_iterator, context):
        print("ClientStreamingMethod called by client...")
        for request in request_iterator:
            print(
                f"recv from client({request.client_id}), message= {request.request_data}"
            )
        return demo_pb2.Response(
            server_id=SERVER_ID,
            response_data="Python server ClientStreamingMethod ok",
        )

    # unary-stream: one request, the server streams back.
    def ServerStreamingMethod(self, request, context):
        print(
            f"ServerStreamingMethod called by client({request.client_id}), "
            f"message= {request.request_data}"
        )

        def response_messages():
            for i in range(5):
                yield demo_pb2.Response(
                    server_id=SERVER_ID,
                    response_data=f"send by Python server, message={i}",
                )

        return response_messages()

    # stream-stream: requests are read on a thread of their own while the
    # responses go out.
    def BidirectionalStreamingMethod(self, request_iterator, context):
        print("BidirectionalStreamingMethod called by client...")

        def parse_request():
            for request in request_iterator:
                print(
                    f"recv from client({request.client_id}), message= {request.request_data}"
                )

        reader = Thread(target=parse_request)
        reader.start()
        for i in range(5):
            yield demo_pb2.Response(
                server_id=SERVER_ID,
                response_data=f"send by Python server, message= {i}",
            )
        reader.join()


def main():
    server = grpc.server(futures.ThreadPoolExecutor())
    demo_pb2_grpc.add_GRPCDemoServicer_to_server(DemoServer(), server)
    port = server.add_insecure_port(SERVER_ADDRESS)
    print("------------------start Python GRPC server")
    server.start()
    if os.environ.get("EXAMPLE_PORT_FILE"):
        with open(os.environ["EXAMPLE_PORT_FILE"], "w") as f:
            f.write(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    main()
