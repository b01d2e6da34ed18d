"""A grpcio peer for grpcpy's compression cross-tests (tests/compression_test.go).

Both sides speak test.Z with raw bytes (no serializers) on the four shapes
UU, US, SU, SS. A request is either 1 MiB of zeros, which the server
checks and answers "ok N" ("ok" per request on SS), or a one-byte order
for responses of 1 MiB of zeros (one on UU and SU, two on US and SS):
  x  as the server's default compression has it
  c  after context.set_compression(Gzip)
  d  as c, and context.disable_next_message_compression() before the
     last response
  n  after context.set_compression(NoCompression): grpcio 1.51 ignores it
     (the enum member is 0, and _server tests it for truth), so a server
     with compression=gzip still compresses

server [--compression=none|deflate|gzip]: grpc.server(compression=...)
    serving test.Z; prints "PORT n" and runs until stdin closes.
client SCENARIOS_JSON: runs each scenario, a JSON object
    {"name", "target", "shape", "channel", "call", "send"} where channel
    is insecure_channel's compression=, call the call's compression= (either
    may be null: not given), send "zeros" or an order; prints one JSON list
    of {"name", "replies", "error"} on its last line.
"""
import argparse
import json
import sys
from concurrent import futures

import grpc

ZEROS_LEN = 1 << 20
ZEROS = bytes(ZEROS_LEN)

COMPRESSION = {
    'none': grpc.Compression.NoCompression,
    'deflate': grpc.Compression.Deflate,
    'gzip': grpc.Compression.Gzip,
}


def is_order(request):
    return len(request) == 1


def check(request, context):
    if request != ZEROS:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      '%d bytes, not 1 MiB of zeros' % len(request))


def obey(order, context):
    if order in (b'c', b'd'):
        context.set_compression(grpc.Compression.Gzip)
    elif order == b'n':
        context.set_compression(grpc.Compression.NoCompression)


def uu(request, context):
    if is_order(request):
        obey(request, context)
        if request == b'd':
            context.disable_next_message_compression()
        return ZEROS
    check(request, context)
    return b'ok 1'


def twice(order, context):
    yield ZEROS
    if order == b'd':
        context.disable_next_message_compression()
    yield ZEROS


def us(request, context):
    if is_order(request):
        obey(request, context)
        yield from twice(request, context)
        return
    check(request, context)
    yield b'ok 1'


def su(request_iterator, context):
    n, order = 0, None
    for r in request_iterator:
        if is_order(r):
            order = r
            continue
        check(r, context)
        n += 1
    if order is not None:
        obey(order, context)
        if order == b'd':
            context.disable_next_message_compression()
        return ZEROS
    return b'ok %d' % n


def ss(request_iterator, context):
    for r in request_iterator:
        if is_order(r):
            obey(r, context)
            yield from twice(r, context)
            continue
        check(r, context)
        yield b'ok'


def serve(args):
    handler = grpc.method_handlers_generic_handler('test.Z', {
        'UU': grpc.unary_unary_rpc_method_handler(uu),
        'US': grpc.unary_stream_rpc_method_handler(us),
        'SU': grpc.stream_unary_rpc_method_handler(su),
        'SS': grpc.stream_stream_rpc_method_handler(ss),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=(handler,),
                         compression=COMPRESSION[args.compression])
    port = server.add_insecure_port('127.0.0.1:0')
    server.start()
    print('PORT %d' % port, flush=True)
    sys.stdin.read()
    server.stop(None)


def show(response):
    if response == ZEROS:
        return 'zeros'
    if len(response) > 16:
        return '<%d bytes>' % len(response)
    return response.decode()


def run(sc):
    send = sc['send']
    if send == 'zeros':
        requests = [ZEROS, ZEROS] if sc['shape'] in ('SU', 'SS') else [ZEROS]
    else:
        requests = [send.encode()]
    kwargs = {'timeout': 30}
    if sc.get('call'):
        kwargs['compression'] = COMPRESSION[sc['call']]
    channel_compression = COMPRESSION[sc['channel']] if sc.get('channel') else None
    method = '/test.Z/' + sc['shape']
    with grpc.insecure_channel(sc['target'], compression=channel_compression) as ch:
        shape = sc['shape']
        if shape == 'UU':
            return [show(ch.unary_unary(method)(requests[0], **kwargs))]
        if shape == 'US':
            return [show(r) for r in ch.unary_stream(method)(requests[0], **kwargs)]
        if shape == 'SU':
            return [show(ch.stream_unary(method)(iter(requests), **kwargs))]
        return [show(r) for r in ch.stream_stream(method)(iter(requests), **kwargs)]


def client(args):
    out = []
    for sc in json.loads(args.scenarios):
        try:
            out.append({'name': sc['name'], 'replies': run(sc), 'error': None})
        except grpc.RpcError as e:
            out.append({'name': sc['name'], 'replies': None,
                        'error': '%s: %s' % (e.code(), e.details())})
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='mode', required=True)
    s = sub.add_parser('server')
    s.add_argument('--compression', choices=sorted(COMPRESSION), default='none')
    c = sub.add_parser('client')
    c.add_argument('scenarios')
    args = p.parse_args()
    serve(args) if args.mode == 'server' else client(args)


if __name__ == '__main__':
    main()
