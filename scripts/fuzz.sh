#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 10s), one after the
# other: -fuzz takes a single target per invocation. One worker
# (-parallel=1) keeps the load to one core beside the seed corpus replays.
# Minimizing a new input costs one RPC per attempt in most targets, so it
# is capped at FUZZMINIMIZETIME (default 10s; Go's 60s stalls short runs).
# A failing target does not stop the others; the script exits non-zero
# if any failed. The fuzzer writes a failing input to
# <pkg>/testdata/fuzz/<Target>/, where plain `go test` replays it from then
# on. FUZZ=FuzzX limits the run to the targets matching that regexp.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps

fuzztime=${FUZZTIME:-10s}
minimizetime=${FUZZMINIMIZETIME:-10s}
only=${FUZZ:-.}
failed=()
for pkg in ./cgo/ ./grpc/; do
  # Every func FuzzX(f *testing.F) in the package's test files.
  targets=$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$pkg"*_test.go | sort -u | grep -E "$only" || true)
  for t in $targets; do
    log "$pkg $t for $fuzztime"
    if ! go test -run='^$' -fuzz="^$t\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimizetime" -parallel=1 "$pkg"; then
      log "FAILED: $pkg $t (the input is in ${pkg}testdata/fuzz/$t/)"
      failed+=("$pkg $t")
    fi
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  log "fuzz targets that failed: ${failed[*]}"
  exit 1
fi
log "all fuzz targets passed"
