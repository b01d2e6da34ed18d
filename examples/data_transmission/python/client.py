"""data_transmission's client.py: the four RPC shapes, client side.

Written after grpc/grpc examples/python/data_transmission/client.py. The
target comes from EXAMPLE_TARGET (default the original's localhost:23333).
"""
import os
import time

import grpc

import demo_pb2
import demo_pb2_grpc

SERVER_ADDRESS = os.environ.get("EXAMPLE_TARGET", "localhost:23333")
CLIENT_ID = 1


# unary-unary: one request, one response.
def simple_method(stub):
    print("--------------Call SimpleMethod Begin--------------")
    request = demo_pb2.Request(
        client_id=CLIENT_ID, request_data="called by Python client"
    )
    response = stub.SimpleMethod(request)
    print(
        "resp from server(%d), the message=%s"
        % (response.server_id, response.response_data)
    )
    print("--------------Call SimpleMethod Over---------------")


# stream-unary: five requests from a generator, one response.
def client_streaming_method(stub):
    print("--------------Call ClientStreamingMethod Begin--------------")

    def request_messages():
        for i in range(5):
            yield demo_pb2.Request(
                client_id=CLIENT_ID,
                request_data="called by Python client, message:%d" % i,
            )

    response = stub.ClientStreamingMethod(request_messages())
    print(
        "resp from server(%d), the message=%s"
        % (response.server_id, response.response_data)
    )
    print("--------------Call ClientStreamingMethod Over---------------")


# unary-stream: one request, the responses are iterated.
def server_streaming_method(stub):
    print("--------------Call ServerStreamingMethod Begin--------------")
    request = demo_pb2.Request(
        client_id=CLIENT_ID, request_data="called by Python client"
    )
    for response in stub.ServerStreamingMethod(request):
        print(
            "recv from server(%d), message=%s"
            % (response.server_id, response.response_data)
        )
    print("--------------Call ServerStreamingMethod Over---------------")


# stream-stream: a request a second while responses are printed.
def bidirectional_streaming_method(stub):
    print("--------------Call BidirectionalStreamingMethod Begin---------------")

    def request_messages():
        for i in range(5):
            yield demo_pb2.Request(
                client_id=CLIENT_ID,
                request_data="called by Python client, message: %d" % i,
            )
            time.sleep(1)

    for response in stub.BidirectionalStreamingMethod(request_messages()):
        print(
            "recv from server(%d), message=%s"
            % (response.server_id, response.response_data)
        )
    print("--------------Call BidirectionalStreamingMethod Over---------------")


def main():
    with grpc.insecure_channel(SERVER_ADDRESS) as channel:
        stub = demo_pb2_grpc.GRPCDemoStub(channel)
        simple_method(stub)
        client_streaming_method(stub)
        server_streaming_method(stub)
        bidirectional_streaming_method(stub)


if __name__ == "__main__":
    main()
