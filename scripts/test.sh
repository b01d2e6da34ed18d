#!/usr/bin/env bash
# Every test: style and boundary checks, the Go suite with -race (fault
# suite and fuzz seed corpora included), goroutine-leak and C live-object
# checks, an AddressSanitizer pass, and a smoke run of cmd/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps

log "checks: gofmt, go vet, C boundary"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$bad" ] || { echo "gofmt would change: $bad"; exit 1; }
go vet ./...
scripts/check-c-boundary.sh

log "foreign command-line peers (grpcurl, grpc-health-probe) into bin/tools"
scripts/foreign-tools.sh

log "go test -race"
go test -race -count=1 -timeout 15m ./... 2>&1 | grep -Ev '^[0-9/]* [0-9:]* (ERROR|WARN) .* logger=grpc\._' | tee /tmp/grpcpy-test.log
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

# This pass also runs the engine without inline polling (the -race pass
# above runs it with), so both modes of core/engine.go stay tested.
log "cgo pointer checks (GOEXPERIMENT=cgocheck2), inline polling off (GRPCPY_INLINE_POLL=0)"
GRPCPY_INLINE_POLL=0 GOEXPERIMENT=cgocheck2 go test -count=1 -timeout 10m ./cgo/ ./core/ ./grpc/ 2>&1 | grep -Ev '^[0-9/]* [0-9:]* (ERROR|WARN) .* logger=grpc\._'
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

# Go's -asan instruments the cgo shim and intercepts every malloc/free in
# the process (the core's included), and checks for leaks at exit: any
# report fails the run.
log "AddressSanitizer (go test -asan): cgo, core, the fault suite, grpc/testing (the in-process transport)"
go test -asan -count=1 -timeout 10m ./cgo/ ./core/ ./tests/faults/ ./grpc/testing/ 2>&1 | grep -Ev '^[0-9/]* [0-9:]* (ERROR|WARN) .* logger=grpc\._'
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

log "static build (-tags grpc_static): the greeter with the core linked in, answering a dynamic client"
go build -tags grpc_static -o bin/greeter_server_static ./examples/helloworld/greeter_server
go build -o bin/ ./examples/helloworld/greeter_client
if ldd bin/greeter_server_static | grep -q libgrpc; then echo "static build still loads libgrpc"; exit 1; fi
rm -f bin/static.port
bin/greeter_server_static --addr=127.0.0.1:0 --port_file=bin/static.port 2>/dev/null &
spid=$!
for _ in $(seq 50); do [ -s bin/static.port ] && break; sleep 0.1; done
out=$(bin/greeter_client --target=127.0.0.1:$(cat bin/static.port))
kill $spid; wait $spid || true
[ "$out" = "Greeter client received: Hello, you!" ] || { echo "static greeter answered: $out"; exit 1; }
echo "static: 1 passed, 0 failed"

log "protoc-gen-grpcpy as users install it (clean module cache, go:generate, a fresh module, buf)"
scripts/plugin-install.sh

log "cmd/bench smoke run"
scripts/bench-smoke.sh

log "tests/peers: grpc-go and other foreign peers in-process (a module each)"
for mod in tests/peers/*/go.mod; do
  [ -e "$mod" ] || continue
  d=$(dirname "$mod")
  log "  $d"
  (cd "$d" && go test -race -count=1 -timeout 10m ./... 2>&1 | grep -Ev '^[0-9/]* [0-9:]* (ERROR|WARN) .* logger=grpc\._'; exit "${PIPESTATUS[0]}")
done

log "interop with grpc-go $(grep -m1 GRPC_GO_VERSION= scripts/interop.sh | cut -d= -f2), both directions, plaintext and TLS"
scripts/interop.sh

log "cross-language with grpcio (/usr/bin/python3)"
scripts/crosslang.sh

