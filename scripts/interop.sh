#!/usr/bin/env bash
# The official interop cases in both directions against grpc-go (pinned),
# plaintext and TLS: grpc-go's interop client against grpcpy's
# interop_server, and grpcpy's interop_client against grpc-go's server.
# 16 cases x 2 directions x 2 = 64 runs. A failed run is retried once, and
# the retry is reported. Prints "N passed, M failed" per direction. Clients
# dial 127.0.0.1: resolving "localhost" can stall for 5 s on a machine
# without DNS (seen with grpc-go's client against its own server).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
GRPC_GO_VERSION=v1.85.0
CASES="empty_unary large_unary client_streaming server_streaming ping_pong empty_stream
timeout_on_sleeping_server cancel_after_begin cancel_after_first_response
status_code_and_message special_status_message custom_metadata unimplemented_method
unimplemented_service rpc_soak channel_soak"

mkdir -p bin/grpc-go
GOBIN="$PWD/bin/grpc-go" go install "google.golang.org/grpc/interop/client@$GRPC_GO_VERSION" || exit 1
GOBIN="$PWD/bin/grpc-go" go install "google.golang.org/grpc/interop/server@$GRPC_GO_VERSION" || exit 1
go build -o bin/ ./cmd/interop_client ./cmd/interop_server || exit 1

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
go run ./internal/testcerts/gencerts --dir="$tmp" || exit 1

wait_port() { for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
tls_server_flags="--use_tls --tls_cert_file=$tmp/server.pem --tls_key_file=$tmp/server.key"
tls_client_flags="--use_tls --use_test_ca --ca_file=$tmp/ca.pem --server_host_override=foo.test.google.fr"

start() { # start NAME BINARY FLAGS... ; sets PORT
  PORT=$(free_port)
  "$2" --port="$PORT" "${@:3}" >"$tmp/$1.log" 2>&1 &
  pids+=($!)
  wait_port "$PORT" || { echo "$1 did not start"; cat "$tmp/$1.log"; exit 1; }
}

total_pass=0 total_fail=0 retries=()
run_direction() { # LABEL CLIENT PORT CLIENT-FLAGS...
  local label=$1 client=$2 port=$3 pass=0 fail=0
  shift 3
  for c in $CASES; do
    if timeout 120 "$client" --server_host=127.0.0.1 --server_port="$port" --test_case="$c" "$@" >"$tmp/run.log" 2>&1; then
      pass=$((pass+1))
    elif timeout 120 "$client" --server_host=127.0.0.1 --server_port="$port" --test_case="$c" "$@" >"$tmp/retry.log" 2>&1; then
      pass=$((pass+1)); retries+=("$label $c: $(grep -v "^\s*$" "$tmp/run.log" | tail -2 | tr "\n" " ")")
    else
      fail=$((fail+1)); echo "FAIL $label $c:"; tail -5 "$tmp/run.log" | sed 's/^/    /'
    fi
  done
  echo "interop $label: $pass passed, $fail failed"
  total_pass=$((total_pass+pass)); total_fail=$((total_fail+fail))
}

start grpcpy-plain bin/interop_server; p1=$PORT
start grpcpy-tls bin/interop_server $tls_server_flags; p2=$PORT
start grpcgo-plain bin/grpc-go/server; p3=$PORT
start grpcgo-tls bin/grpc-go/server $tls_server_flags; p4=$PORT

run_direction "grpc-go client -> grpcpy server, plaintext" bin/grpc-go/client "$p1"
run_direction "grpc-go client -> grpcpy server, TLS" bin/grpc-go/client "$p2" $tls_client_flags
run_direction "grpcpy client -> grpc-go server, plaintext" bin/interop_client "$p3"
run_direction "grpcpy client -> grpc-go server, TLS" bin/interop_client "$p4" $tls_client_flags

for r in "${retries[@]}"; do echo "retried once: $r"; done
echo "interop: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
