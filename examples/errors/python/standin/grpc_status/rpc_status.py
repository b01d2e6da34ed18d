"""Stand-in for grpc_status.rpc_status (PyPI's grpcio-status): from_call and
to_status, carrying a google.rpc.Status in the 'grpc-status-details-bin'
trailing metadata entry, as grpcio-status does.
"""
import collections

import grpc
from google.rpc import status_pb2

_DETAILS_KEY = "grpc-status-details-bin"
_CODES = {code.value[0]: code for code in grpc.StatusCode}


class _Status(
    collections.namedtuple("_Status", ("code", "details", "trailing_metadata")),
    grpc.Status,
):
    pass


def _grpc_code(code):
    if code not in _CODES:
        raise ValueError("Invalid status code %s" % code)
    return _CODES[code]


def from_call(call):
    """The google.rpc.Status in call's trailing metadata, or None.

    Raises ValueError when its code or message differ from the call's.
    """
    for key, value in call.trailing_metadata() or ():
        if key != _DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value)
        if status.code != call.code().value[0]:
            raise ValueError(
                "Code in Status proto (%s) doesn't match status code (%s)"
                % (_grpc_code(status.code), call.code())
            )
        if status.message != call.details():
            raise ValueError(
                "Message in Status proto (%s) doesn't match status details (%s)"
                % (status.message, call.details())
            )
        return status
    return None


def to_status(status):
    """A grpc.Status for context.abort_with_status: status's code and
    message, and status itself, serialized, in the trailing metadata."""
    return _Status(
        code=_grpc_code(status.code),
        details=status.message,
        trailing_metadata=((_DETAILS_KEY, status.SerializeToString()),),
    )
