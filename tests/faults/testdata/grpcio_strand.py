"""The hang of TestStopNeverStrandsStreams, with grpcio 1.51 alone.

Run: /usr/bin/python3 tests/faults/testdata/grpcio_strand.py [cycles] [noretry]

Each cycle starts a grpcio server, has 12 threads call its server-streaming
and bidi methods in a loop (each RPC with a 2 s timeout), then stops the
server with stop(None) under that load. A client thread still alive 5 s
after its RPC's deadline is a stranded RPC: the core completed the call's
status but never the other receive batches, and grpcio's iterator waits
for its receive_message forever. With "noretry" the channel has
grpc.enable_retries=0; the hang was not seen that way.
"""
import os
import sys
import threading
import time
from concurrent import futures

import grpc


def stream(req, ctx):
    for _ in range(3):
        yield req


def bidi(reqs, ctx):
    for r in reqs:
        yield r


def main():
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    options = [("grpc.enable_retries", 0)] if "noretry" in sys.argv[2:] else []
    handler = grpc.method_handlers_generic_handler("faults.Svc", {
        "ServerStream": grpc.unary_stream_rpc_method_handler(stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
    })
    for cycle in range(1, cycles + 1):
        server = grpc.server(futures.ThreadPoolExecutor(32), handlers=(handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        ch = grpc.insecure_channel("127.0.0.1:%d" % port, options=options)
        ss = ch.unary_stream("/faults.Svc/ServerStream")
        bd = ch.stream_stream("/faults.Svc/Bidi")
        stop = threading.Event()

        def client(kind):
            while not stop.is_set():
                try:
                    if kind == 0:
                        for _ in ss(b"x", timeout=2):
                            pass
                    else:
                        for _ in bd(iter([b"a", b"b"]), timeout=2):
                            pass
                except grpc.RpcError:
                    pass

        threads = [threading.Thread(target=client, args=(i % 2,), daemon=True) for i in range(12)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        server.stop(None)
        time.sleep(0.02)
        stop.set()
        deadline = time.time() + 7
        stuck = 0
        for t in threads:
            t.join(max(0, deadline - time.time()))
            stuck += t.is_alive()
        if stuck:
            print("cycle %d: %d RPC(s) still running 5s after their 2s deadline" % (cycle, stuck), flush=True)
            os._exit(1)  # the stuck threads cannot be joined
        ch.close()
    print("%d cycles, no RPC stranded" % cycles, flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
