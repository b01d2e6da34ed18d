"""multiplex_client.py: Greeter and RouteGuide stubs on one channel.

Written after grpc/grpc examples/python/multiplex/multiplex_client.py.
The target comes from EXAMPLE_TARGET (default the original's
localhost:50051); EXAMPLE_DELAY_SCALE scales the random pauses between
streamed messages (default 1, the original's).
"""
import logging
import os
import random
import time

import grpc

import helloworld_pb2
import helloworld_pb2_grpc
import route_guide_pb2
import route_guide_pb2_grpc
import route_guide_resources

_DELAY_SCALE = float(os.environ.get("EXAMPLE_DELAY_SCALE", "1"))


def make_route_note(message, latitude, longitude):
    return route_guide_pb2.RouteNote(
        message=message,
        location=route_guide_pb2.Point(latitude=latitude, longitude=longitude),
    )


def guide_get_one_feature(route_guide_stub, point):
    feature = route_guide_stub.GetFeature(point)
    if not feature.location:
        print("Server returned incomplete feature")
        return
    if feature.name:
        print("Feature called %s at %s" % (feature.name, feature.location))
    else:
        print("Found no feature at %s" % feature.location)


def guide_get_feature(route_guide_stub):
    # A point of this repository's database (the original's
    # 409146138, -746188906 is not in it), then one with no feature.
    guide_get_one_feature(
        route_guide_stub, route_guide_pb2.Point(latitude=405433012, longitude=-747469171)
    )
    guide_get_one_feature(route_guide_stub, route_guide_pb2.Point(latitude=0, longitude=0))


def guide_list_features(route_guide_stub):
    rectangle = route_guide_pb2.Rectangle(
        lo=route_guide_pb2.Point(latitude=400000000, longitude=-750000000),
        hi=route_guide_pb2.Point(latitude=420000000, longitude=-730000000),
    )
    print("Looking for features between 40, -75 and 42, -73")
    for feature in route_guide_stub.ListFeatures(rectangle):
        print("Feature called %s at %s" % (feature.name, feature.location))


def generate_route(feature_list):
    for _ in range(0, 10):
        random_feature = random.choice(feature_list)
        print("Visiting point %s" % random_feature.location)
        yield random_feature.location
        time.sleep(random.uniform(0.5, 1.5) * _DELAY_SCALE)


def guide_record_route(route_guide_stub):
    feature_list = route_guide_resources.read_route_guide_database()
    route_summary = route_guide_stub.RecordRoute(generate_route(feature_list))
    print("Finished trip with %s points " % route_summary.point_count)
    print("Passed %s features " % route_summary.feature_count)
    print("Travelled %s meters " % route_summary.distance)
    print("It took %s seconds " % route_summary.elapsed_time)


def generate_messages():
    messages = [
        make_route_note("First message", 0, 0),
        make_route_note("Second message", 0, 1),
        make_route_note("Third message", 1, 0),
        make_route_note("Fourth message", 0, 0),
        make_route_note("Fifth message", 1, 0),
    ]
    for msg in messages:
        print("Sending %s at %s" % (msg.message, msg.location))
        yield msg
        time.sleep(random.uniform(0.5, 1.0) * _DELAY_SCALE)


def guide_route_chat(route_guide_stub):
    for response in route_guide_stub.RouteChat(generate_messages()):
        print("Received message %s at %s" % (response.message, response.location))


def run():
    target = os.environ.get("EXAMPLE_TARGET", "localhost:50051")
    with grpc.insecure_channel(target) as channel:
        # Two stubs, one channel: both services' RPCs share its connection.
        greeter_stub = helloworld_pb2_grpc.GreeterStub(channel)
        route_guide_stub = route_guide_pb2_grpc.RouteGuideStub(channel)
        greeter_response = greeter_stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
        print("Greeter client received: " + greeter_response.message)
        print("-------------- GetFeature --------------")
        guide_get_feature(route_guide_stub)
        print("-------------- ListFeatures --------------")
        guide_list_features(route_guide_stub)
        print("-------------- RecordRoute --------------")
        guide_record_route(route_guide_stub)
        print("-------------- RouteChat --------------")
        guide_route_chat(route_guide_stub)


if __name__ == "__main__":
    logging.basicConfig()
    run()
