#!/usr/bin/env bash
# Runs each cmd/bench workload briefly against its own server and checks
# the RESULT line's shape; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
mkdir -p bin
go build -o bin/bench ./cmd/bench
port=$(free_port)
bin/bench server --addr=127.0.0.1:$port 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.5
re='^RESULT impl=grpcpy workload=W[0-9] payload=[0-9]+ concurrency=[0-9]+ duration_s=[0-9.]+ ops=[1-9][0-9]* ops_per_s=[0-9.]+ mb_per_s=[0-9.]+ p50_us=([0-9.]+|NA) p99_us=([0-9.]+|NA)$'
pass=0 fail=0
for args in "--workload=W1" "--workload=W2 --concurrency=32" "--workload=W3" "--workload=W4"; do
  line=$(timeout 60 bin/bench client --addr=127.0.0.1:$port $args --duration=1 --warmup=0.2 | tail -1) || true
  if [[ "$line" =~ $re ]]; then pass=$((pass+1)); echo "$line"; else fail=$((fail+1)); echo "bad RESULT for $args: $line"; fi
done
start=$(date +%s%N)
kill -TERM $pid
wait $pid || true
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -le 1000 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "bench server took ${ms}ms to exit after SIGTERM"; fi
echo "bench: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
