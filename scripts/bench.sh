#!/usr/bin/env bash
# Measures grpcpy against the grpc-go peer (bench/peers/grpcgo), client and
# server of the same implementation, over loopback, 32-byte payloads:
# W1-W4 plus W2 at 256 in flight, interleaved (A B A B ...), BENCH_REPS
# repetitions (3) of BENCH_DURATION seconds (5) after 1 s of warm-up. It
# prints a table of medians and grpcpy/grpc-go ratios with the targets of
# issue 7, then the cost-of-growth figures (W5: 10,000 idle streams).
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

out=$(mktemp)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -f "$out"' EXIT
A=$(free_port); B=$(free_port)
bin/bench server --addr=127.0.0.1:$A 2>/dev/null & pids+=($!)
bin/grpcgo-peer server --addr=127.0.0.1:$B & pids+=($!)
sleep 1

for rep in $(seq "$REPS"); do
  for w in "W1" "W2 --concurrency=32" "W2 --concurrency=256" "W3" "W4"; do
    bin/bench client --addr=127.0.0.1:$A --workload=$w --duration=$DUR --warmup=1 | tee -a "$out" >&2
    bin/grpcgo-peer client --addr=127.0.0.1:$B --workload=$w --duration=$DUR --warmup=1 | tee -a "$out" >&2
  done
done
bin/bench client --addr=127.0.0.1:$A --workload=W5 --concurrency=$STREAMS --duration=1 --warmup=0 | tee -a "$out" >&2
bin/bench client --addr=127.0.0.1:$A --workload=W5 --concurrency=$STREAMS --duration=1 --warmup=0 \
  --channel_args=grpc.enable_retries=0 --impl=grpcpy-no-retries | tee -a "$out" >&2

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
targets = {('W1',1): ('ops_per_s', 1.0), ('W2',32): ('ops_per_s', 1.1), ('W2',256): ('ops_per_s', None),
           ('W3',1): ('ops_per_s', 1.0), ('W4',1): ('mb_per_s', 1.0)}
print()
print('| workload | metric | grpcpy | grpc-go | ratio | target | grpcpy p50 us | grpc-go p50 us |')
print('|---|---|---|---|---|---|---|---|')
meds = {}
for key in sorted(rows):
    metric, target = targets.get(key, ('ops_per_s', None))
    a, b = med(rows[key].get('grpcpy', []), metric), med(rows[key].get('grpc-go', []), metric)
    meds[key] = a
    ratio = a / b if a and b else float('nan')
    verdict = '' if target is None else ('%.2fx %s' % (target, 'met' if ratio >= target else 'NOT met'))
    pa, pb = med(rows[key].get('grpcpy', []), 'p50_us'), med(rows[key].get('grpc-go', []), 'p50_us')
    fmt = lambda v: '-' if v is None else '%.1f' % v
    print('| %s c=%d | %s | %.1f | %.1f | %.2f | %s | %s | %s |' % (key[0], key[1], metric, a or 0, b or 0, ratio,
          verdict, fmt(pa), fmt(pb)))
if meds.get(('W2',32)) and meds.get(('W2',256)):
    g = meds[('W2',256)] / meds[('W2',32)]
    print('\nW2 growth: 256 in flight / 32 in flight = %.2f (target: within 10%%, >= 0.90: %s)' % (g, 'met' if g >= 0.9 else 'NOT met'))
for i in idle:
    mib = float(i['rss_mib'])
    print('W5 %s: %s idle streams, client RSS %.1f MiB (target < 200 MiB: %s), %s OS threads' %
          (i['impl'], i['streams'], mib, 'met' if mib < 200 else 'NOT met', i['threads']))
PY
