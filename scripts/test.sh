#!/usr/bin/env bash
# Every test: style and boundary checks, the Go suite with -race,
# goroutine-leak and C live-object checks, and a smoke run of cmd/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps

log "checks: gofmt, go vet, C boundary"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$bad" ] || { echo "gofmt would change: $bad"; exit 1; }
go vet ./...
scripts/check-c-boundary.sh

log "go test -race"
go test -race -count=1 -timeout 15m ./... 2>&1 | grep -v '^[0-9/]* [0-9:]* ERROR grpc' | tee /tmp/grpcpy-test.log
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

log "cgo pointer checks (GOEXPERIMENT=cgocheck2)"
GOEXPERIMENT=cgocheck2 go test -count=1 -timeout 10m ./cgo/ ./core/ ./grpc/ 2>&1 | grep -v '^[0-9/]* [0-9:]* ERROR grpc'
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

log "cmd/bench smoke run"
scripts/bench-smoke.sh

log "interop with grpc-go $(grep -m1 GRPC_GO_VERSION= scripts/interop.sh | cut -d= -f2), both directions, plaintext and TLS"
scripts/interop.sh

log "cross-language with grpcio (/usr/bin/python3)"
scripts/crosslang.sh
