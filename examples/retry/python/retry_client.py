"""retry_client.py: a retry policy in the channel's service config.

Written after grpc/grpc examples/python/retry/retry_client.py. The target
comes from EXAMPLE_TARGET (default the original's localhost:50051).
"""
import json
import logging
import os

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def run():
    # Retry SayHello on UNAVAILABLE, up to five attempts in all, with an
    # exponential backoff from 0.1s to 1s. To cover every method, the
    # "name" list would be [{}].
    service_config_json = json.dumps(
        {
            "methodConfig": [
                {
                    "name": [{"service": "helloworld.Greeter", "method": "SayHello"}],
                    "retryPolicy": {
                        "maxAttempts": 5,
                        "initialBackoff": "0.1s",
                        "maxBackoff": "1s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ]
        }
    )
    options = []
    # Retries are on by default since grpcio 1.40; set explicitly anyway.
    options.append(("grpc.enable_retries", 1))
    options.append(("grpc.service_config", service_config_json))
    target = os.environ.get("EXAMPLE_TARGET", "localhost:50051")
    with grpc.insecure_channel(target, options=options) as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
    print("Greeter client received: " + response.message)


if __name__ == "__main__":
    logging.basicConfig()
    run()
