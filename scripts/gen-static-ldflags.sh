#!/usr/bin/env bash
# Prints the #cgo LDFLAGS line of cgo/build_static.go for this machine's
# libgrpc-dev: gRPC, upb, re2, c-ares and abseil from their static
# archives (as one link group: abseil's archives depend on each other);
# libc, OpenSSL, zlib and libstdc++ stay shared.
set -euo pipefail
static=() shared=()
for f in $(pkg-config --static --libs-only-l grpc | tr ' ' '\n' | sort -u); do
  case "$f" in
    -lssl|-lcrypto|-lz|-ldl|-lrt|-lm|-latomic|-lpthread) shared+=("$f") ;;
    -l*) static+=("$f") ;;
  esac
done
echo "#cgo LDFLAGS: -Wl,-Bstatic -Wl,--start-group ${static[*]} -Wl,--end-group -Wl,-Bdynamic ${shared[*]} -lstdc++ -lm -lpthread"
