#!/usr/bin/env bash
# The xDS demo of docs/deployment.md: a go-control-plane management server
# on 127.0.0.1, three grpcpy backends in two localities, a grpcpy client on
# xds:///my-service and an xDS-enabled grpcpy server, each client and the
# xDS server in a process of its own with its bootstrap. It pushes endpoint,
# locality-weight and Listener changes and restarts the control plane,
# printing what the traffic did ("XDS ..." lines). About 20 s after the
# first build (which compiles go-control-plane, about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps
cd tests/peers/xds
go test -count=1 -v -run 'TestXds' . 2>&1 | grep -E 'XDS |^(--- |ok|FAIL)'
