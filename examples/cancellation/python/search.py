"""cancellation's search.py: a brute-force walk over every bytestring for
one whose SHA-1 hash (base64) resembles a target string."""
import base64
import hashlib
import itertools
import logging
import struct

import hash_name_pb2

_LOGGER = logging.getLogger(__name__)
# Digits run over range(_BYTE_MAX), as in the original: 0xff is never used.
_BYTE_MAX = 255


def _get_hamming_distance(a, b):
    """How many positions differ between two equally long strings."""
    return sum(1 for char_a, char_b in zip(a, b) if char_a != char_b)


def _get_substring_hamming_distance(candidate, target):
    """The smallest Hamming distance between target and any substring of
    candidate of the same length, ignoring case."""
    if len(target) > len(candidate):
        raise ValueError("Candidate must be at least as long as target.")
    min_distance = None
    for i in range(len(candidate) - len(target) + 1):
        distance = _get_hamming_distance(
            candidate[i : i + len(target)].lower(), target.lower()
        )
        if min_distance is None or distance < min_distance:
            min_distance = distance
    return min_distance


def _get_hash(secret):
    return base64.b64encode(hashlib.sha1(secret).digest()).decode("ascii")


class ResourceLimitExceededError(Exception):
    """The search computed as many hashes as it was allowed."""


def _bytestrings_of_length(length):
    """Every bytestring of the given length, last byte moving fastest."""
    for digits in itertools.product(range(_BYTE_MAX), repeat=length):
        yield b"".join(struct.pack("B", i) for i in digits)


def _all_bytestrings():
    """Every bytestring, shortest first. Never ends."""
    for bytestring in itertools.chain.from_iterable(
        _bytestrings_of_length(length) for length in itertools.count()
    ):
        yield bytestring


def search(
    target,
    ideal_distance,
    stop_event,
    maximum_hashes,
    interesting_hamming_distance=None,
):
    """Yield HashNameResponses for secrets whose hash resembles target.

    The search ends after the first candidate within ideal_distance; ones
    within interesting_hamming_distance (if given) are yielded on the way.
    It returns quietly once stop_event is set and raises
    ResourceLimitExceededError after maximum_hashes hashes.
    """
    hashes_computed = 0
    for secret in _all_bytestrings():
        if stop_event.is_set():
            return
        candidate_hash = _get_hash(secret)
        distance = _get_substring_hamming_distance(candidate_hash, target)
        if (
            interesting_hamming_distance is not None
            and distance <= interesting_hamming_distance
        ):
            # Worth showing, but keep looking.
            yield hash_name_pb2.HashNameResponse(
                secret=base64.b64encode(secret),
                hashed_name=candidate_hash,
                hamming_distance=distance,
            )
        elif distance <= ideal_distance:
            # Good enough: the last answer.
            yield hash_name_pb2.HashNameResponse(
                secret=base64.b64encode(secret),
                hashed_name=candidate_hash,
                hamming_distance=distance,
            )
            return
        hashes_computed += 1
        if hashes_computed == maximum_hashes:
            raise ResourceLimitExceededError()
