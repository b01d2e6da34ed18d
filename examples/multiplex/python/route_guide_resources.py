"""The route guide database, shared with examples/routeguide.

As route_guide_resources.py of grpc/grpc examples/python/multiplex, but it
reads the repository's one copy of route_guide_db.json (the one the Go
package routeguide embeds) instead of a file in the working directory.
"""
import json
import os

import route_guide_pb2

_DB = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "..", "routeguide", "routeguide", "route_guide_db.json",
)


def read_route_guide_database():
    """Returns every entry of the database as a route_guide_pb2.Feature."""
    feature_list = []
    with open(_DB) as route_guide_db_file:
        for item in json.load(route_guide_db_file):
            feature_list.append(
                route_guide_pb2.Feature(
                    name=item["name"],
                    location=route_guide_pb2.Point(
                        latitude=item["location"]["latitude"],
                        longitude=item["location"]["longitude"],
                    ),
                )
            )
    return feature_list
