"""A grpcio peer for grpcpy's cross-language tests (Debian's python3-grpcio).

server: serves test.Py (WhoAmI and the four shapes), prints "PORT n",
        and runs until stdin closes.
client: calls a grpcpy server's test.Sec/WhoAmI and the four shapes,
        prints one JSON object with what it saw, exits 0 on success.
Both speak mTLS with the PEM files given; the client adds call
credentials through a metadata plugin (x-plugin) and an access token.
"""
import argparse
import json
import sys
from concurrent import futures

import grpc


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def who_am_i(request, context):
    md = dict(context.invocation_metadata())
    ids = context.peer_identities() or []
    return json.dumps({
        'peer_identity_key': context.peer_identity_key(),
        'peer_identities': [i.decode() for i in ids],
        'x_plugin': md.get('x-plugin'),
        'authorization': md.get('authorization'),
    }).encode()


def unary_stream(request, context):
    for i in range(3):
        yield request + str(i).encode()


def stream_unary(request_iterator, context):
    return b'+'.join(request_iterator)


def stream_stream(request_iterator, context):
    for r in request_iterator:
        yield r


def serve(args):
    handler = grpc.method_handlers_generic_handler('test.Py', {
        'WhoAmI': grpc.unary_unary_rpc_method_handler(who_am_i),
        'UU': grpc.unary_unary_rpc_method_handler(lambda r, c: r),
        'US': grpc.unary_stream_rpc_method_handler(unary_stream),
        'SU': grpc.stream_unary_rpc_method_handler(stream_unary),
        'SS': grpc.stream_stream_rpc_method_handler(stream_stream),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=(handler,))
    creds = grpc.ssl_server_credentials([(read(args.key), read(args.cert))],
                                        root_certificates=read(args.ca),
                                        require_client_auth=True)
    port = server.add_secure_port('127.0.0.1:0', creds)
    server.start()
    print('PORT %d' % port, flush=True)
    sys.stdin.read()
    server.stop(None)


class Plugin(grpc.AuthMetadataPlugin):
    def __call__(self, context, callback):
        callback((('x-plugin', 'python ' + context.method_name),), None)


def client(args):
    ssl = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
    creds = grpc.composite_channel_credentials(
        ssl, grpc.metadata_call_credentials(Plugin(), 'py-plugin'))
    options = [('grpc.ssl_target_name_override', args.override)] if args.override else []
    out = {}
    with grpc.secure_channel(args.target, creds, options=options) as ch:
        out['who'] = json.loads(ch.unary_unary('/test.Sec/WhoAmI')(
            b'x', timeout=20,
            credentials=grpc.access_token_call_credentials('py-token')).decode())
        out['UU'] = ch.unary_unary('/test.Shapes/UU')(b'a', timeout=20).decode()
        out['US'] = [r.decode() for r in ch.unary_stream('/test.Shapes/US')(b'a', timeout=20)]
        out['SU'] = ch.stream_unary('/test.Shapes/SU')(iter([b'a', b'b', b'c']), timeout=20).decode()
        out['SS'] = [r.decode() for r in
                     ch.stream_stream('/test.Shapes/SS')(iter([b'a', b'b', b'c']), timeout=20)]
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['server', 'client'])
    p.add_argument('--target')
    p.add_argument('--ca', required=True)
    p.add_argument('--cert', required=True)
    p.add_argument('--key', required=True)
    p.add_argument('--override', default='')
    args = p.parse_args()
    serve(args) if args.mode == 'server' else client(args)


if __name__ == '__main__':
    main()
