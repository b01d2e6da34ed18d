#!/usr/bin/env bash
# Runs each cmd/bench workload briefly against its own server and checks
# the RESULT line's shape, then crosses grpcpy with the C++ peer
# (bench/peers/cpp, libgrpc++ on the same core) both ways; exits non-zero
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
mkdir -p bin
go build -o bin/bench ./cmd/bench
build_cpp_peer
port=$(free_port) cport=$(free_port)
bin/bench server --addr=127.0.0.1:$port 2>/dev/null &
pid=$!
bin/cpp-peer server --addr=127.0.0.1:$cport &
cpid=$!
trap 'kill $pid $cpid 2>/dev/null || true' EXIT
sleep 0.5
re='^RESULT impl=[a-z+-]+ workload=W[0-9] payload=[0-9]+ concurrency=[0-9]+ duration_s=[0-9.]+ ops=[1-9][0-9]* ops_per_s=[0-9.]+ mb_per_s=[0-9.]+ p50_us=([0-9.]+|NA) p99_us=([0-9.]+|NA)$'
pass=0 fail=0
check() { # check CLIENT PORT ARGS...: one short run, RESULT line well formed
  local client=$1 p=$2 line
  shift 2
  line=$(timeout 60 $client client --addr=127.0.0.1:$p "$@" --duration=1 --warmup=0.2 | tail -1) || true
  if [[ "$line" =~ $re ]]; then pass=$((pass+1)); echo "$line"; else fail=$((fail+1)); echo "bad RESULT for $client -> :$p $*: $line"; fi
}
for args in "--workload=W1" "--workload=W2 --concurrency=32" "--workload=W3" "--workload=W3 --stream_api=open" "--workload=W4" \
  "--workload=W6" "--workload=W6 --stream_api=open" "--workload=W6 --stream_api=iterator"; do
  check bin/bench $port $args
done
for w in W1 W3 W4; do
  check bin/cpp-peer $port --workload=$w     # C++ client, grpcpy server
  check bin/bench $cport --workload=$w       # grpcpy client, C++ server
done
start=$(date +%s%N)
kill -TERM $pid
wait $pid || true
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -le 1000 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "bench server took ${ms}ms to exit after SIGTERM"; fi
echo "bench: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
