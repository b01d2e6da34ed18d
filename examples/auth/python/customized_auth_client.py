"""auth's customized_auth_client.py: call credentials from a metadata
plugin, composed with TLS channel credentials.

The target comes from EXAMPLE_TARGET (default the original's
'localhost:50051', there 'localhost:%d' % --port). Certificates: see
_credentials.py.
"""
import contextlib
import logging
import os

import _credentials
import grpc
import helloworld_pb2
import helloworld_pb2_grpc

_LOGGER = logging.getLogger(__name__)
_LOGGER.setLevel(logging.INFO)

_SIGNATURE_HEADER_KEY = "x-signature"


class AuthGateway(grpc.AuthMetadataPlugin):
    def __call__(self, context, callback):
        """Sign the RPC: its method name, reversed. Must not block.

        context is e.g. AuthMetadataContext(
            service_url='https://localhost:50051/helloworld.Greeter',
            method_name='SayHello').
        """
        signature = context.method_name[::-1]
        # Metadata keys must be lowercase.
        callback(((_SIGNATURE_HEADER_KEY, signature),), None)


@contextlib.contextmanager
def create_client_channel(addr):
    # Asked for metadata on every RPC
    call_credentials = grpc.metadata_call_credentials(AuthGateway(), name="auth gateway")
    # Valid for the whole channel
    channel_credential = grpc.ssl_channel_credentials(_credentials.ROOT_CERTIFICATE)
    # Both together
    composite_credentials = grpc.composite_channel_credentials(
        channel_credential,
        call_credentials,
    )
    channel = grpc.secure_channel(addr, composite_credentials)
    yield channel


def send_rpc(channel):
    stub = helloworld_pb2_grpc.GreeterStub(channel)
    request = helloworld_pb2.HelloRequest(name="you")
    try:
        response = stub.SayHello(request)
    except grpc.RpcError as rpc_error:
        _LOGGER.error("Received error: %s", rpc_error)
        return rpc_error
    else:
        _LOGGER.info("Received message: %s", response)
        return response


def main():
    with create_client_channel(os.environ.get("EXAMPLE_TARGET", "localhost:50051")) as channel:
        send_rpc(channel)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
