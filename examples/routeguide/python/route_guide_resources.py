"""route_guide's route_guide_resources.py: the feature database.

The one deviation: the JSON file is the repository's single copy,
examples/routeguide/routeguide/route_guide_db.json (the Go package
routeguide embeds the same file), found from this file's directory
rather than the working directory.
"""
import json
import os

import route_guide_pb2

_DB_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "routeguide",
    "route_guide_db.json",
)


def read_route_guide_database():
    """Returns the database as a list of route_guide_pb2.Feature."""
    feature_list = []
    with open(_DB_PATH) as route_guide_db_file:
        for item in json.load(route_guide_db_file):
            location = route_guide_pb2.Point(
                latitude=item["location"]["latitude"],
                longitude=item["location"]["longitude"],
            )
            feature_list.append(
                route_guide_pb2.Feature(name=item["name"], location=location)
            )
    return feature_list
