#!/usr/bin/python3
"""The grpcio peer of cmd/bench, on Debian's grpcio 1.51 (/usr/bin/python3).

The same server and client modes, flags and RESULT line as cmd/bench, so any
client can be pointed at any server:

    peer.py server --addr=127.0.0.1:50051
    peer.py client --addr=127.0.0.1:50051 --workload=W1 --duration=5 \\
                   --warmup=1 --concurrency=1 --payload=32 --impl=grpcio

Messages are raw bytes: the multicallables and method handlers are created
without serializers, so grpcio hands bytes through as they are.

Server: grpc.server on a concurrent.futures.ThreadPoolExecutor with
--max_workers threads (default 5 per CPU, the size grpcio's own qps worker,
src/python/grpcio_tests/tests/qps/worker_server.py, gives its server). A
unary call holds a worker only while its handler runs (here: returning the
request), so W2's 256 calls in flight queue for a few workers rather than
needing one thread each (a 256-worker pool measured the same, within
noise, at 32 and 256 in flight); a stream holds one worker for its
lifetime, and the workloads open one at a time.
/bench.Echo/Unary returns the request; /bench.Echo/Stream returns the
request iterator, so each message is sent back in order and the stream ends
with OK when the client half-closes. SIGTERM or SIGINT stops it at once
(within a second).

Client, as grpcio's qps benchmark client drives grpcio
(src/python/grpcio_tests/tests/qps/benchmark_client.py):
  W1  blocking unary calls, one at a time.
  W2  --concurrency unary calls in flight on one channel, from --concurrency
      threads each making blocking calls one at a time (the shape of the qps
      UnarySyncBenchmarkClient's thread pool, and of cmd/bench's goroutines).
      --unary_api=futures drives them with future() instead: each
      completion's done callback records the call and starts the next one (a
      closed loop, as the qps UnaryAsyncBenchmarkClient). Threads measured
      10-35% more calls per second than futures on the 2-core machine at 32
      and at 256 in flight (four paired 2 s runs) (futures complete on the channel's one polling
      thread, which then runs every callback and starts every next call), so
      they are the default: grpcio in its best configuration.
  W3  one bidi stream whose request iterator is fed through a queue: put a
      message, wait for its echo from the response iterator, repeat (as the
      qps _SyncStream).
  W4  one bidi stream whose request generator yields 64 KiB messages until
      the end of the window (grpcio sends each when the previous send
      completes) while the main thread reads the echoes; latency prints NA.

An operation counts when it completes inside the measured window (after the
warm-up); percentiles are nearest-rank over the counted operations;
mb_per_s counts echoed payload bytes, 1 MB = 10^6 B (as cmd/bench).
"""

import argparse
import math
import os
import queue
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

UNARY = '/bench.Echo/Unary'
STREAM = '/bench.Echo/Stream'


def parse(mode, argv):
    p = argparse.ArgumentParser(prog='peer.py ' + mode)
    p.add_argument('--addr', '-addr', default='127.0.0.1:50051')
    if mode == 'server':
        p.add_argument('--max_workers', '-max_workers', type=int,
                       default=(os.cpu_count() or 1) * 5)
    else:
        p.add_argument('--workload', '-workload', default='W1')
        p.add_argument('--duration', '-duration', type=float, default=5)
        p.add_argument('--warmup', '-warmup', type=float, default=1)
        p.add_argument('--concurrency', '-concurrency', type=int, default=1)
        p.add_argument('--payload', '-payload', type=int, default=None)
        p.add_argument('--impl', '-impl', default='grpcio')
        p.add_argument('--unary_api', '-unary_api', default='threads',
                       choices=('threads', 'futures'))
    return p.parse_args(argv)


def run_server(argv):
    a = parse('server', argv)
    handler = grpc.method_handlers_generic_handler('bench.Echo', {
        'Unary': grpc.unary_unary_rpc_method_handler(lambda req, ctx: req),
        'Stream': grpc.stream_stream_rpc_method_handler(lambda reqs, ctx: reqs),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=a.max_workers),
                         handlers=(handler,))
    port = server.add_insecure_port(a.addr)
    if port == 0:
        sys.exit('peer.py: cannot listen on %s' % a.addr)
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    server.start()
    print('grpcio peer: serving on port %d (%d workers)' % (port, a.max_workers),
          file=sys.stderr)
    while not stop.wait(3600):
        pass
    # Abort what is in flight: the peer is a benchmark client being torn down.
    server.stop(None).wait(0.9)
    sys.stderr.flush()
    os._exit(0)  # without joining the executor's threads


class Result:
    def __init__(self, start, end, latency=True):
        self.start, self.end = start, end
        self.ops = 0
        self.bytes = 0
        self.latencies = [] if latency else None

    def merge(self, o):
        self.ops += o.ops
        self.bytes += o.bytes
        if self.latencies is not None:
            self.latencies.extend(o.latencies)

    def add(self, t0, t1, n):
        if self.start < t1 <= self.end:
            self.ops += 1
            self.bytes += n
            if self.latencies is not None:
                self.latencies.append(t1 - t0)


def unary_sequential(ch, payload, r):
    call = ch.unary_unary(UNARY)
    now = time.perf_counter
    while True:
        t0 = now()
        if t0 > r.end:
            return
        resp = call(payload, timeout=30)
        r.add(t0, now(), len(resp))


def unary_threads(ch, payload, r, concurrency):
    results = [Result(r.start, r.end) for _ in range(concurrency)]
    errors = []

    def worker(mine):
        try:
            unary_sequential(ch, payload, mine)
        except grpc.RpcError as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(x,), daemon=True)
               for x in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    for x in results:
        r.merge(x)


def unary_futures(ch, payload, r, concurrency):
    call = ch.unary_unary(UNARY)
    now = time.perf_counter
    lock = threading.Lock()
    done = threading.Event()
    state = {'live': concurrency, 'error': None}

    def start():
        t0 = now()
        if t0 > r.end or state['error'] is not None:
            with lock:
                state['live'] -= 1
                if state['live'] == 0:
                    done.set()
            return
        call.future(payload, timeout=30).add_done_callback(
            lambda f: finished(f, t0))

    def finished(f, t0):
        t1 = now()
        try:
            resp = f.result()
        except grpc.RpcError as e:
            with lock:
                state['error'] = e
        else:
            with lock:
                r.add(t0, t1, len(resp))
        start()

    for _ in range(concurrency):
        start()
    done.wait()
    if state['error'] is not None:
        raise state['error']


def ping_pong(ch, payload, r):
    requests = queue.SimpleQueue()

    def gen():
        while True:
            m = requests.get()
            if m is None:
                return  # half-close: the server ends the stream with OK
            yield m

    responses = ch.stream_stream(STREAM)(gen())
    now = time.perf_counter
    while True:
        t0 = now()
        if t0 > r.end:
            break
        requests.put(payload)
        resp = next(responses)
        r.add(t0, now(), len(resp))
    requests.put(None)
    for _ in responses:
        pass


def throughput(ch, payload, r):
    end = r.end
    now = time.perf_counter

    def gen():
        while now() < end:
            yield payload

    for resp in ch.stream_stream(STREAM)(gen()):
        r.add(0, now(), len(resp))


def percentile(sorted_lat, p):
    if not sorted_lat:
        return 0.0
    rank = int(math.ceil(p / 100 * len(sorted_lat)))
    return sorted_lat[max(rank, 1) - 1]


def run_client(argv):
    a = parse('client', argv)
    if a.payload is None:
        a.payload = 64 << 10 if a.workload == 'W4' else 32
    if a.workload == 'W2':
        if a.concurrency < 1:
            sys.exit('peer.py: --concurrency must be at least 1')
    elif a.workload in ('W1', 'W3', 'W4'):
        a.concurrency = 1
    else:
        sys.exit('peer.py: unknown workload %r' % a.workload)
    if a.duration <= 0 or a.warmup < 0 or a.payload < 0:
        sys.exit('peer.py: bad duration, warmup or payload')
    payload = bytes(i & 0xff for i in range(a.payload))
    with grpc.insecure_channel(a.addr) as ch:
        # One call first, so a dead server fails fast instead of after the run.
        ch.unary_unary(UNARY)(b'', timeout=10, wait_for_ready=True)
        start = time.perf_counter() + a.warmup
        r = Result(start, start + a.duration, latency=a.workload != 'W4')
        if a.workload == 'W1':
            unary_sequential(ch, payload, r)
        elif a.workload == 'W2' and a.unary_api == 'futures':
            unary_futures(ch, payload, r, a.concurrency)
        elif a.workload == 'W2':
            unary_threads(ch, payload, r, a.concurrency)
        elif a.workload == 'W3':
            ping_pong(ch, payload, r)
        else:
            throughput(ch, payload, r)
    secs = a.duration
    if r.latencies is None:
        p50 = p99 = 'NA'
    else:
        r.latencies.sort()
        p50 = '%.1f' % (percentile(r.latencies, 50) * 1e6)
        p99 = '%.1f' % (percentile(r.latencies, 99) * 1e6)
    print('RESULT impl=%s workload=%s payload=%d concurrency=%d duration_s=%.2f '
          'ops=%d ops_per_s=%.1f mb_per_s=%.3f p50_us=%s p99_us=%s' % (
              a.impl, a.workload, a.payload, a.concurrency, secs, r.ops,
              r.ops / secs, r.bytes / secs / 1e6, p50, p99), flush=True)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ('server', 'client'):
        sys.exit('usage: peer.py server|client [flags]')
    try:
        (run_server if sys.argv[1] == 'server' else run_client)(sys.argv[2:])
    except grpc.RpcError as e:
        sys.exit('peer.py: %s: %s' % (e.code(), e.details()))


if __name__ == '__main__':
    main()
