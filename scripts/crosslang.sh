#!/usr/bin/env bash
# Cross-language tests with grpcio 1.51 (tests/python/crosslang.py): builds
# the interop binaries, generates the Python messages from the interop
# protos with protoc, and runs the script with /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/ ./cmd/interop_client ./cmd/interop_server
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc -I interop/grpc_testing --python_out="$tmp" interop/grpc_testing/empty.proto interop/grpc_testing/messages.proto
timeout 600 /usr/bin/python3 tests/python/crosslang.py "$PWD/bin" "$tmp"
