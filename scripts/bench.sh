#!/usr/bin/env bash
# Measures grpcpy against three peers, each client against its own server
# over loopback, 32-byte payloads: the grpc-go peer (bench/peers/grpcgo,
# grpc-go 1.85 with its CodecV2 on mem.BufferSlice and the transport
# buffers of grpc-go's own benchmarks), the C++ peer (bench/peers/cpp:
# libgrpc++ 1.51, the same core) and the grpcio peer (bench/peers/python:
# Debian's grpcio 1.51 on /usr/bin/python3, or BENCH_PYTHON). W1-W4 plus W2
# at 256 in flight, interleaved per workload (grpcpy, grpc-go, C++, grpcio,
# grpcpy, ...), BENCH_REPS repetitions (3) of BENCH_DURATION seconds (5)
# after 1 s of warm-up. W3 runs twice for grpcpy: with grpcio 1.18's
# request iterator and with Open (Write/Read, grpc.aio's shape); W6 (grpcpy
# only) is route_guide through the typed stubs: GetFeature, and RouteChat
# with Open. It prints a
# table of medians, grpcpy's ratios to each peer and the targets of
# issue 17, then the cost-of-growth figures (W5: 10,000 idle streams).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps
REPS=${BENCH_REPS:-3}
DUR=${BENCH_DURATION:-5}
STREAMS=${BENCH_IDLE_STREAMS:-10000}
mkdir -p bin
go build -o bin/bench ./cmd/bench
(cd bench/peers && go build -o ../../bin/grpcgo-peer ./grpcgo)
build_cpp_peer
PY=${BENCH_PYTHON:-/usr/bin/python3}
(cd / && "$PY" -c 'import grpc') || { log "$PY cannot import grpc (apt-get install python3-grpcio)"; exit 1; }

out=$(mktemp)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -f "$out"' EXIT
A=$(free_port); B=$(free_port); C=$(free_port); D=$(free_port)
bin/bench server --addr=127.0.0.1:$A 2>/dev/null & pids+=($!)
bin/grpcgo-peer server --addr=127.0.0.1:$B & pids+=($!)
bin/cpp-peer server --addr=127.0.0.1:$C & pids+=($!)
"$PY" bench/peers/python/peer.py server --addr=127.0.0.1:$D 2>/dev/null & pids+=($!)
sleep 1

run() { "$@" --duration=$DUR --warmup=1 | tee -a "$out" >&2; }
for rep in $(seq "$REPS"); do
  for w in "W1" "W2 --concurrency=32" "W2 --concurrency=256" "W3" "W4"; do
    run bin/bench client --addr=127.0.0.1:$A --workload=$w
    run bin/grpcgo-peer client --addr=127.0.0.1:$B --workload=$w
    run bin/cpp-peer client --addr=127.0.0.1:$C --workload=$w
    run "$PY" bench/peers/python/peer.py client --addr=127.0.0.1:$D --workload=$w
    if [ "$w" = W3 ]; then
      run bin/bench client --addr=127.0.0.1:$A --workload=W3 --stream_api=open --impl=grpcpy-open
    fi
  done
  # W6: route_guide through the generated typed stubs (protobuf), grpcpy
  # only: GetFeature next to W1, RouteChat with Open next to W3 Open.
  run bin/bench client --addr=127.0.0.1:$A --workload=W6
  run bin/bench client --addr=127.0.0.1:$A --workload=W6 --stream_api=open --impl=grpcpy-open
done
bin/bench client --addr=127.0.0.1:$A --workload=W5 --concurrency=$STREAMS --duration=1 --warmup=0 | tee -a "$out" >&2
bin/bench client --addr=127.0.0.1:$A --workload=W5 --concurrency=$STREAMS --duration=1 --warmup=0 \
  --channel_args=grpc.enable_retries=0 --impl=grpcpy-no-retries | tee -a "$out" >&2
# The same idle streams opened with Open (no request-iterator goroutine each).
bin/bench client --addr=127.0.0.1:$A --workload=W5 --concurrency=$STREAMS --duration=1 --warmup=0 \
  --stream_api=open --impl=grpcpy-open | tee -a "$out" >&2

python3 - "$out" <<'PY'
import re, statistics, sys
rows = {}
idle = []
for line in open(sys.argv[1]):
    if line.startswith('IDLE'):
        idle.append(dict(kv.split('=', 1) for kv in line.split()[1:]))
    if not line.startswith('RESULT'):
        continue
    f = dict(kv.split('=', 1) for kv in line.split()[1:])
    if f['workload'] == 'W5':
        continue
    key = (f['workload'], int(f['concurrency']))
    rows.setdefault(key, {}).setdefault(f['impl'], []).append(f)
def med(fs, k):
    v = [float(x[k]) for x in fs if x[k] != 'NA']
    return statistics.median(v) if v else None
peers = [('grpc-go', 'grpc-go'), ('c++', 'C++'), ('grpcio', 'grpcio')]
# (metric, min ratio to grpc-go, min ratio to C++) per row, from issue 17;
# grpcio has no target (the ratio is how much faster ported code runs).
targets = {('W1',1): ('ops_per_s', 1.0, 1.0), ('W2',32): ('ops_per_s', 1.0, 1.0),
           ('W2',256): ('ops_per_s', 1.0, 1.0), ('W3',1): ('ops_per_s', 1.0, 1.0),
           ('W4',1): ('mb_per_s', 1.0, 0.95)}
fmt = lambda v, f='%.1f': '-' if v is None else f % v
print()
print('| workload | metric | grpcpy | grpc-go | C++ | grpcio | grpcpy / grpc-go | grpcpy / C++ | grpcpy / grpcio'
      ' | target | p50 us grpcpy / grpc-go / C++ / grpcio |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
meds = {}
for key in sorted(rows):
    metric, tgo, tcc = targets.get(key, ('ops_per_s', None, None))
    mine = ['grpcpy'] + (['grpcpy-open'] if 'grpcpy-open' in rows[key] else [])
    theirs = [med(rows[key].get(impl, []), metric) for impl, _ in peers]
    for impl in mine:
        a = med(rows[key].get(impl, []), metric)
        if impl == 'grpcpy':
            meds[key] = a
        ratios = [a / b if a and b else None for b in theirs]
        verdict = []
        for t, r, name in ((tgo, ratios[0], 'grpc-go'), (tcc, ratios[1], 'C++')):
            if t is not None:
                verdict.append('%.2fx %s %s' % (t, name, 'met' if r and r >= t else 'NOT met'))
        p50 = ' / '.join(fmt(med(rows[key].get(i, []), 'p50_us')) for i in [impl] + [p for p, _ in peers])
        label = '%s c=%d%s' % (key[0], key[1], ' (Open)' if impl == 'grpcpy-open' else '')
        print('| %s | %s | %s | %s | %s | %s |' % (label, metric, ' | '.join(fmt(v) for v in [a] + theirs),
              ' | '.join(fmt(r, '%.2f') for r in ratios), ', '.join(verdict), p50))
if meds.get(('W2',32)) and meds.get(('W2',256)):
    g = meds[('W2',256)] / meds[('W2',32)]
    print('\nW2 growth: 256 in flight / 32 in flight = %.2f (target: within 10%%, >= 0.90: %s)' % (g, 'met' if g >= 0.9 else 'NOT met'))
for i in idle:
    mib = float(i['rss_mib'])
    print('W5 %s: %s idle streams, client RSS %.1f MiB (target < 200 MiB: %s), %s OS threads' %
          (i['impl'], i['streams'], mib, 'met' if mib < 200 else 'NOT met', i['threads']))
PY
