#!/usr/bin/env bash
# The official interop cases in both directions against grpc-go (pinned),
# plaintext and TLS: grpc-go's interop client against grpcpy's
# interop_server, and grpcpy's interop_client against grpc-go's server.
# 16 cases x 2 directions x 2 = 64 runs. Each run prints one PASS or FAIL
# line (a FAIL with the tail of the client's output); a failed run is not
# retried and fails the script. Prints "N passed, M failed" per direction
# and in total. Servers are started first, each waited for until its port
# accepts connections (bounded), so no case races a server's startup. Clients
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

# wait_port PORT PID: poll until 127.0.0.1:PORT accepts a connection, for up
# to 10 s; fails at once if process PID (the server) has exited.
wait_port() {
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
tls_server_flags="--use_tls --tls_cert_file=$tmp/server.pem --tls_key_file=$tmp/server.key"
tls_client_flags="--use_tls --use_test_ca --ca_file=$tmp/ca.pem --server_host_override=foo.test.google.fr"

declare -A port pid # by server name
start() { # start NAME BINARY FLAGS... ; sets port[NAME] and pid[NAME]; logs to $tmp/NAME.log
  port[$1]=$(free_port)
  "$2" --port="${port[$1]}" "${@:3}" >"$tmp/$1.log" 2>&1 &
  pid[$1]=$!
  pids+=("${pid[$1]}")
  wait_port "${port[$1]}" "${pid[$1]}" || { echo "$1 did not start listening on 127.0.0.1:${port[$1]}"; cat "$tmp/$1.log"; exit 1; }
}

# The one known race in a peer, not in grpcpy: grpc-go's client for
# cancel_after_begin cancels its context and then calls CloseAndRecv; if
# the server's OK answer to the half-close is already buffered when its
# receive runs, grpc-go's select picks it over the cancelled context half
# the time and the case reports code 0 (seen 1 run in 2 under CI load, 0 in
# 400 on an idle machine, against grpcpy's and grpc-go's own server alike).
# Only that case, only with grpc-go's client, is run a second time, and the
# first failure is printed as FLAKY with its output and counted in the
# summary; every other failure fails the run at once.
KNOWN_PEER_RACES="grpc-go:cancel_after_begin"

total_pass=0 total_fail=0 total_flaky=0
run_direction() { # LABEL CLIENT SERVER-NAME CLIENT-FLAGS...
  local label=$1 client=$2 server=$3 pass=0 fail=0 c rc t0 secs
  shift 3
  for c in $CASES; do
    t0=$SECONDS
    timeout 120 "$client" --server_host=127.0.0.1 --server_port="${port[$server]}" --test_case="$c" "$@" >"$tmp/run.log" 2>&1
    rc=$? secs=$((SECONDS-t0))
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [[ "$client" == */grpc-go/* ]] && [[ " $KNOWN_PEER_RACES " == *" grpc-go:$c "* ]]; then
      echo "FLAKY $label: $c (exit $rc; a known grpc-go client race, run once more)"
      tail -3 "$tmp/run.log" | sed 's/^/    /'
      total_flaky=$((total_flaky+1))
      timeout 120 "$client" --server_host=127.0.0.1 --server_port="${port[$server]}" --test_case="$c" "$@" >"$tmp/run.log" 2>&1
      rc=$? secs=$((SECONDS-t0))
    fi
    if [ "$rc" -eq 0 ]; then
      pass=$((pass+1)); echo "PASS $label: $c (${secs}s)"
    else
      fail=$((fail+1))
      if [ "$rc" -eq 124 ]; then echo "FAIL $label: $c (timed out after 120s)"; else echo "FAIL $label: $c (exit $rc, ${secs}s)"; fi
      tail -10 "$tmp/run.log" | sed 's/^/    /'
      kill -0 "${pid[$server]}" 2>/dev/null || { echo "    server $server has exited; its log:"; tail -10 "$tmp/$server.log" | sed 's/^/      /'; }
    fi
  done
  echo "interop $label: $pass passed, $fail failed"
  total_pass=$((total_pass+pass)); total_fail=$((total_fail+fail))
}

start grpcpy-plain bin/interop_server
start grpcpy-tls bin/interop_server $tls_server_flags
start grpcgo-plain bin/grpc-go/server
start grpcgo-tls bin/grpc-go/server $tls_server_flags

run_direction "grpc-go client -> grpcpy server, plaintext" bin/grpc-go/client grpcpy-plain
run_direction "grpc-go client -> grpcpy server, TLS" bin/grpc-go/client grpcpy-tls $tls_client_flags
run_direction "grpcpy client -> grpc-go server, plaintext" bin/interop_client grpcgo-plain
run_direction "grpcpy client -> grpc-go server, TLS" bin/interop_client grpcgo-tls $tls_client_flags

[ "$total_flaky" -eq 0 ] || echo "interop: $total_flaky known peer race(s) re-run (FLAKY lines above)"
echo "interop: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
