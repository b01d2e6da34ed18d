"""A grpcio server for cmd/burst (Debian's python3-grpcio; run it with /usr/bin/python3).

It serves burst.Echo, the service of `burst server` (grpcpy):
  Stream       stream-stream, echoes each request in order, ends with OK at
               the client's half-close;
  UnaryStream  unary-stream, sends the request back --count times (default 1).
Messages are raw bytes (no protobuf).

It prints "PORT n" once serving on 127.0.0.1 with a kernel-picked port,
then reads commands, one a line, from stdin, and answers each with one line
on stdout:
  stats  -> STATS {json}: glibc mallinfo2 of this process (arena: bytes
            of the main arena's brk heap, hblkhd: bytes in mmap'd chunks,
            uordblks: bytes in use, fordblks: bytes free in the arenas,
            keepcost) and the Python thread count (py_threads);
  trim   -> TRIM {json}: malloc_trim(0), with its result and the seconds
            it took (a diagnostic: how much of the RSS is free malloc memory).
It stops the server and exits when stdin closes (or on "quit").
"""
import argparse
import ctypes
import ctypes.util
import json
import logging
import sys
import threading
import time
from concurrent import futures

import grpc


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
        'fsmblks', 'uordblks', 'fordblks', 'keepcost')]


_libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
_libc.mallinfo2.restype = _Mallinfo2
_libc.malloc_trim.argtypes = [ctypes.c_size_t]
_libc.malloc_trim.restype = ctypes.c_int


def mallinfo():
    m = _libc.mallinfo2()
    return {name: getattr(m, name) for name, _ in _Mallinfo2._fields_}


def stream(request_iterator, context):
    for r in request_iterator:
        yield r


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--workers', type=int, default=10,
                   help='max_workers of the ThreadPoolExecutor running the handlers')
    p.add_argument('--count', type=int, default=1,
                   help='responses per UnaryStream call')
    args = p.parse_args()
    # Every reset stream is logged as an exception iterating responses.
    logging.getLogger('grpc._server').setLevel(logging.CRITICAL)

    def unary_stream(request, context):
        for _ in range(args.count):
            yield request

    handler = grpc.method_handlers_generic_handler('burst.Echo', {
        'Stream': grpc.stream_stream_rpc_method_handler(stream),
        'UnaryStream': grpc.unary_stream_rpc_method_handler(unary_stream),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers),
                         handlers=(handler,))
    port = server.add_insecure_port('127.0.0.1:0')
    server.start()
    print('PORT %d' % port, flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'stats':
            out = mallinfo()
            out['py_threads'] = threading.active_count()
            print('STATS ' + json.dumps(out), flush=True)
        elif cmd == 'trim':
            t0 = time.monotonic()
            rc = _libc.malloc_trim(0)
            print('TRIM ' + json.dumps({'rc': rc, 'seconds': time.monotonic() - t0}), flush=True)
        elif cmd == 'quit':
            break
        elif cmd:
            print('ERROR unknown command %r' % cmd, flush=True)
    server.stop(None)


if __name__ == '__main__':
    main()
