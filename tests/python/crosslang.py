"""Cross-language tests between grpcpy and grpcio 1.51 (Debian's python3-grpcio).

Part A: a grpcio client against grpcpy's interop_server: the four RPC shapes,
metadata both ways, status codes and details (non-ASCII too), deadlines,
cancellation, 4 MiB messages and the max-message-size limit.
Part B: grpcpy's interop_client against a grpcio TestService server: every
official interop case, plus 4 MiB messages and the size limit.

Usage: /usr/bin/python3 crosslang.py BIN_DIR PB2_DIR
Prints one line per check and "crosslang: N passed, M failed"; exit status 1
if anything failed.
"""
import os
import subprocess
import sys
import threading
import time
import traceback
from concurrent import futures

import grpc

BIN, PB2 = sys.argv[1], sys.argv[2]
sys.path.insert(0, PB2)
import empty_pb2  # noqa: E402  (generated at test time by protoc)
import messages_pb2 as m  # noqa: E402

results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
            print('PASS', name, flush=True)
        except Exception:  # noqa: BLE001
            results.append((name, traceback.format_exc()))
            print('FAIL', name, '\n' + traceback.format_exc(), flush=True)
        return fn
    return wrap


def methods(channel):
    s = '/grpc.testing.TestService/'
    return {
        'EmptyCall': channel.unary_unary(s + 'EmptyCall', empty_pb2.Empty.SerializeToString, empty_pb2.Empty.FromString),
        'UnaryCall': channel.unary_unary(s + 'UnaryCall', m.SimpleRequest.SerializeToString, m.SimpleResponse.FromString),
        'StreamingOutputCall': channel.unary_stream(s + 'StreamingOutputCall', m.StreamingOutputCallRequest.SerializeToString,
                                                    m.StreamingOutputCallResponse.FromString),
        'StreamingInputCall': channel.stream_unary(s + 'StreamingInputCall', m.StreamingInputCallRequest.SerializeToString,
                                                   m.StreamingInputCallResponse.FromString),
        'FullDuplexCall': channel.stream_stream(s + 'FullDuplexCall', m.StreamingOutputCallRequest.SerializeToString,
                                                m.StreamingOutputCallResponse.FromString),
    }


def payload(n):
    return m.Payload(body=b'\0' * n)


def expect_code(fn, code, details=None):
    try:
        fn()
    except grpc.RpcError as e:
        assert e.code() == code, 'code %s, want %s (%s)' % (e.code(), code, e.details())
        if details is not None:
            assert e.details() == details, 'details %r, want %r' % (e.details(), details)
        return e
    raise AssertionError('no error, want %s' % code)


def part_a(target):
    opts = [('grpc.max_receive_message_length', 8 << 20)]
    with grpc.insecure_channel(target, options=opts) as ch, grpc.insecure_channel(target) as small:
        rpc = methods(ch)

        @check('grpcio->grpcpy unary')
        def _():
            assert isinstance(rpc['EmptyCall'](empty_pb2.Empty(), timeout=20), empty_pb2.Empty)
            r = rpc['UnaryCall'](m.SimpleRequest(response_size=314159, payload=payload(271828)), timeout=20)
            assert len(r.payload.body) == 314159

        @check('grpcio->grpcpy server streaming')
        def _():
            req = m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=n) for n in (31415, 9, 2653)])
            assert [len(r.payload.body) for r in rpc['StreamingOutputCall'](req, timeout=20)] == [31415, 9, 2653]

        @check('grpcio->grpcpy client streaming')
        def _():
            reqs = iter([m.StreamingInputCallRequest(payload=payload(n)) for n in (27182, 8, 1828, 45904)])
            assert rpc['StreamingInputCall'](reqs, timeout=20).aggregated_payload_size == 74922

        @check('grpcio->grpcpy bidi ping-pong')
        def _():
            reqs = [m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=n)], payload=payload(n))
                    for n in (31415, 9, 2653)]
            assert [len(r.payload.body) for r in rpc['FullDuplexCall'](iter(reqs), timeout=20)] == [31415, 9, 2653]

        @check('grpcio->grpcpy metadata both ways')
        def _():
            md = (('x-grpc-test-echo-initial', 'hello'), ('x-grpc-test-echo-trailing-bin', b'\xab\x00\xff'))
            _, call = rpc['UnaryCall'].with_call(m.SimpleRequest(response_size=1), metadata=md, timeout=20)
            assert dict(call.initial_metadata())['x-grpc-test-echo-initial'] == 'hello'
            assert dict(call.trailing_metadata())['x-grpc-test-echo-trailing-bin'] == b'\xab\x00\xff'

        @check('grpcio->grpcpy status codes and details, non-ASCII too')
        def _():
            for code, details in ((grpc.StatusCode.NOT_FOUND, 'no such thing'),
                                  (grpc.StatusCode.INVALID_ARGUMENT, 'caf\u00e9 \u263a \U0001f608 \u00fcber'),
                                  (grpc.StatusCode.UNKNOWN, '\t\nwhitespace\r\n')):
                req = m.SimpleRequest(response_status=m.EchoStatus(code=code.value[0], message=details))
                expect_code(lambda: rpc['UnaryCall'](req, timeout=20), code, details)
                it = rpc['FullDuplexCall'](iter([m.StreamingOutputCallRequest(response_status=req.response_status)]), timeout=20)
                expect_code(lambda: list(it), code, details)

        @check('grpcio->grpcpy deadline')
        def _():
            gate = threading.Event()

            def requests():
                yield m.StreamingOutputCallRequest(payload=payload(10))
                gate.wait(10)  # never half-close: only the deadline ends the call
            it = rpc['FullDuplexCall'](requests(), timeout=0.2)
            expect_code(lambda: list(it), grpc.StatusCode.DEADLINE_EXCEEDED)
            gate.set()

        @check('grpcio->grpcpy cancellation')
        def _():
            gate = threading.Event()

            def requests():
                yield m.StreamingInputCallRequest(payload=payload(1))
                gate.wait(10)
            f = rpc['StreamingInputCall'].future(requests(), timeout=20)
            time.sleep(0.1)
            assert f.cancel()
            assert f.cancelled() and f.code() == grpc.StatusCode.CANCELLED
            gate.set()

        @check('grpcio->grpcpy 4 MiB messages')
        def _():
            n = 4 << 20
            r = rpc['UnaryCall'](m.SimpleRequest(response_size=n, payload=payload(n)), timeout=30)
            assert len(r.payload.body) == n

        @check('grpcio->grpcpy max message size')
        def _():
            expect_code(lambda: methods(small)['UnaryCall'](m.SimpleRequest(response_size=5 << 20), timeout=30),
                        grpc.StatusCode.RESOURCE_EXHAUSTED)


# ---- Part B: a grpcio TestService server ----

def echo_metadata(context):
    md = dict(context.invocation_metadata())
    if 'x-grpc-test-echo-initial' in md:
        context.send_initial_metadata((('x-grpc-test-echo-initial', md['x-grpc-test-echo-initial']),))
    if 'x-grpc-test-echo-trailing-bin' in md:
        context.set_trailing_metadata((('x-grpc-test-echo-trailing-bin', md['x-grpc-test-echo-trailing-bin']),))


def apply_status(context, status):
    if status.code != 0:
        context.abort(grpc.StatusCode(next(c for c in grpc.StatusCode if c.value[0] == status.code)), status.message)


def unary_call(req, context):
    echo_metadata(context)
    apply_status(context, req.response_status)
    return m.SimpleResponse(payload=payload(req.response_size))


def streaming_output_call(req, context):
    echo_metadata(context)
    for p in req.response_parameters:
        time.sleep(p.interval_us / 1e6)
        yield m.StreamingOutputCallResponse(payload=payload(p.size))
    apply_status(context, req.response_status)


def streaming_input_call(reqs, context):
    return m.StreamingInputCallResponse(aggregated_payload_size=sum(len(r.payload.body) for r in reqs))


def full_duplex_call(reqs, context):
    echo_metadata(context)
    for r in reqs:
        apply_status(context, r.response_status)
        for p in r.response_parameters:
            yield m.StreamingOutputCallResponse(payload=payload(p.size))


def serve():
    handler = grpc.method_handlers_generic_handler('grpc.testing.TestService', {
        'EmptyCall': grpc.unary_unary_rpc_method_handler(lambda r, c: empty_pb2.Empty(), empty_pb2.Empty.FromString,
                                                         empty_pb2.Empty.SerializeToString),
        'UnaryCall': grpc.unary_unary_rpc_method_handler(unary_call, m.SimpleRequest.FromString,
                                                         m.SimpleResponse.SerializeToString),
        'StreamingOutputCall': grpc.unary_stream_rpc_method_handler(
            streaming_output_call, m.StreamingOutputCallRequest.FromString, m.StreamingOutputCallResponse.SerializeToString),
        'StreamingInputCall': grpc.stream_unary_rpc_method_handler(
            streaming_input_call, m.StreamingInputCallRequest.FromString, m.StreamingInputCallResponse.SerializeToString),
        'FullDuplexCall': grpc.stream_stream_rpc_method_handler(
            full_duplex_call, m.StreamingOutputCallRequest.FromString, m.StreamingOutputCallResponse.SerializeToString),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), handlers=(handler,),
                         options=[('grpc.max_receive_message_length', 64 << 20)])
    port = server.add_insecure_port('127.0.0.1:0')
    server.start()
    return server, port


def part_b():
    server, port = serve()
    try:
        for case in ('all', 'extras'):
            out = subprocess.run([os.path.join(BIN, 'interop_client'), '--server_host=127.0.0.1',
                                  '--server_port=%d' % port, '--test_case=' + case],
                                 capture_output=True, text=True, timeout=300)
            for line in out.stdout.splitlines():
                verdict, _, rest = line.partition(' ')
                name = 'grpcpy->grpcio ' + rest.split(':')[0]
                results.append((name, None if verdict == 'PASS' else line))
                print(verdict, name, '' if verdict == 'PASS' else line, flush=True)
            if out.returncode != 0 and 'FAIL' not in out.stdout:
                results.append(('grpcpy->grpcio ' + case, out.stderr))
                print('FAIL grpcpy->grpcio', case, out.stderr, flush=True)
    finally:
        server.stop(None)


def main():
    go_server = subprocess.Popen([os.path.join(BIN, 'interop_server'), '--port=0', '--port_file=' + os.path.join(PB2, 'port')],
                                 stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(PB2, 'port')
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read():
                break
            time.sleep(0.1)
        part_a('127.0.0.1:' + open(port_file).read().strip())
    finally:
        go_server.terminate()
        go_server.wait(10)
    part_b()
    failed = sum(1 for _, err in results if err)
    print('crosslang: %d passed, %d failed' % (len(results) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
