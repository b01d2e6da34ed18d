"""interceptors/headers' header_manipulator_client_interceptor.py: a
client interceptor that appends one header to every outgoing RPC."""
import collections

import generic_client_interceptor
import grpc


class _ClientCallDetails(
    collections.namedtuple(
        "_ClientCallDetails", ("method", "timeout", "metadata", "credentials")
    ),
    grpc.ClientCallDetails,
):
    pass


def header_adder_interceptor(header, value):
    def intercept_call(
        client_call_details,
        request_iterator,
        request_streaming,
        response_streaming,
    ):
        # The call's own metadata first, then the added header.
        metadata = list(client_call_details.metadata or ())
        metadata.append((header, value))
        client_call_details = _ClientCallDetails(
            client_call_details.method,
            client_call_details.timeout,
            metadata,
            client_call_details.credentials,
        )
        return client_call_details, request_iterator, None

    return generic_client_interceptor.create(intercept_call)
