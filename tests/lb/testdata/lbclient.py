"""The grpcio side of tests/lb's channel-args test (TestChannelArgsLikeGrpcio).

Reads a JSON list of cases from stdin, each
  {"target": ..., "method": ..., "n": N, "warm": W, "options": [[key, value], ...]},
and for each opens grpc.insecure_channel(target, options=...) with the
options passed through as grpcio's (key, value) tuples, makes
wait_for_ready Who RPCs until W distinct backends have answered, then N
sequential RPCs of the method, and prints one JSON line: the answers per
backend and the failures per status code.
"""

import json
import sys
import time

import grpc

WHO = '/grpcpy.lb.Backend/Who'
TIMEOUT = 20


def run(case):
    options = [tuple(o) for o in case['options']]
    with grpc.insecure_channel(case['target'], options=options) as channel:
        who = channel.unary_unary(WHO)
        seen = set()
        deadline = time.monotonic() + TIMEOUT
        while len(seen) < case['warm'] and time.monotonic() < deadline:
            seen.add(who(b'?', timeout=TIMEOUT, wait_for_ready=True).decode())
        rpc = channel.unary_unary(case['method'])
        answers, failures = {}, {}
        for _ in range(case['n']):
            try:
                name = rpc(b'?', timeout=TIMEOUT).decode()
                answers[name] = answers.get(name, 0) + 1
            except grpc.RpcError as e:
                failures[e.code().name] = failures.get(e.code().name, 0) + 1
    return {'answers': answers, 'failures': failures}


def main():
    for case in json.load(sys.stdin):
        print(json.dumps(run(case)), flush=True)


if __name__ == '__main__':
    main()
