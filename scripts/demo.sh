#!/usr/bin/env bash
# The demo: builds the examples, starts each example server on a
# kernel-chosen 127.0.0.1 port, runs its client against it, stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps

mkdir -p bin
go build -o bin/ ./examples/helloworld/greeter_server ./examples/helloworld/greeter_client \
  ./examples/routeguide/route_guide_server ./examples/routeguide/route_guide_client \
  ./examples/interceptors/auth_server ./examples/interceptors/auth_client \
  ./examples/metadata/metadata_server ./examples/metadata/metadata_client
# Several examples name their programs greeter_server/greeter_client.
go build -o bin/headers_greeter_server ./examples/interceptors/headers/greeter_server
go build -o bin/headers_greeter_client ./examples/interceptors/headers/greeter_client
go build -o bin/default_value_greeter_client ./examples/interceptors/default_value/greeter_client

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# run_example NAME SERVER CLIENT [CLIENT-ARGS...]
run_example() {
  local name=$1 server=$2 client=$3
  shift 3
  log "example $name"
  rm -f "$tmp/port"
  "bin/$server" --addr=127.0.0.1:0 --port_file="$tmp/port" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
  [ -s "$tmp/port" ] || { log "$server did not start"; exit 1; }
  "bin/$client" --target="127.0.0.1:$(cat "$tmp/port")" "$@"
  kill -TERM "$server_pid"
  wait "$server_pid"
  server_pid=
}

run_example helloworld greeter_server greeter_client
run_example "route_guide (all four RPC kinds)" route_guide_server route_guide_client
run_example "authentication interceptors" auth_server auth_client
run_example "metadata (client metadata in, trailing metadata out)" metadata_server metadata_client
run_example "header interceptors (one-time-password)" headers_greeter_server headers_greeter_client
run_example "default-value interceptor (refused RPC: default reply)" headers_greeter_server default_value_greeter_client
log "demo finished"
