# Sourced by the scripts: installs what grpcpy needs on Debian/Ubuntu,
# skipping what is present, and puts a Go toolchain (>= 1.23) on PATH.
# Idempotent; apt-get runs as root (or through sudo).

GO_MIN_MINOR=23
# The toolchain fetched from the Go module proxy when no recent Go exists.
GO_FALLBACK=go1.24.11

log() { printf '==> %s\n' "$*" >&2; }

# free_port prints a port the kernel picks on 127.0.0.1 (and releases).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local need=() p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

go_ok() { # go_ok PATH-TO-GO: is it Go >= 1.GO_MIN_MINOR?
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1
  v=${v#go}
  [ "${v%%.*}" -gt 1 ] || [ "$(echo "$v" | cut -d. -f2)" -ge "$GO_MIN_MINOR" ]
}

ensure_go() {
  local g
  for g in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "$HOME/go/toolchain/bin/go"; do
    if [ -n "$g" ] && [ -x "$g" ] && go_ok "$g"; then
      export PATH="$(dirname "$g"):$PATH"
      return
    fi
  done
  # Debian's golang-go is too old to build this module; use it only to fetch
  # a newer toolchain, which the Go module proxy serves as a module.
  ensure_packages golang-go ca-certificates
  local arch mod dir
  arch=$(dpkg --print-architecture)
  mod="golang.org/toolchain@v0.0.1-$GO_FALLBACK.linux-$arch"
  log "fetching $mod from the Go module proxy"
  dir=$(cd /tmp && GOFLAGS=-mod=mod /usr/bin/go mod download -json "$mod" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$HOME/go"
  rm -rf "$HOME/go/toolchain"
  cp -r "$dir" "$HOME/go/toolchain"
  chmod -R u+w "$HOME/go/toolchain"
  chmod +x "$HOME/go/toolchain/bin/"* "$HOME/go/toolchain/pkg/tool/"*/* 2>/dev/null || true
  export PATH="$HOME/go/toolchain/bin:$PATH"
  go_ok "$HOME/go/toolchain/bin/go" || { log "could not install Go >= 1.$GO_MIN_MINOR"; exit 1; }
}

# ensure_deps installs the C core (and its C++ API, for the bench peer), the
# build tools (protoc and the well-known .proto files), grpcio and
# grpcio-tools for the cross-language tests, and Go.
ensure_deps() {
  ensure_packages libgrpc-dev libgrpc++-dev pkg-config gcc g++ libc6-dev protobuf-compiler libprotobuf-dev python3-grpcio python3-grpc-tools python3-protobuf git
  ensure_go
  export PATH="$(go env GOPATH)/bin:$PATH"
  log "$(go version); gRPC core $(pkg-config --modversion grpc)"
}

# build_cpp_peer builds the C++ bench peer (bench/peers/cpp) into bin/cpp-peer
# with Debian's libgrpc++ (about 5 s), unless it is up to date.
build_cpp_peer() {
  mkdir -p bin
  if [ ! bin/cpp-peer -nt bench/peers/cpp/peer.cc ]; then
    g++ -O2 -std=c++17 -o bin/cpp-peer bench/peers/cpp/peer.cc $(pkg-config --cflags --libs grpc++)
  fi
}
