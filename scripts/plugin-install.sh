#!/usr/bin/env bash
# Proves protoc-gen-grpcpy works the way a user installs and runs it:
#   1. go install of the plugin (from this working tree: the module is not
#      published) and of protoc-gen-go (at go.mod's protobuf version) into an
#      empty GOBIN, with an empty GOPATH and module cache, so every
#      dependency resolves fresh from the Go module proxy; --version answers;
#   2. the go:generate line of examples/helloworld/helloworld/generate.go,
#      run by `go generate` in a copy of that directory, reproduces the
#      committed helloworld.pb.go and helloworld_grpcpy.pb.go byte for byte
#      (this also catches stale committed generated code);
#   3. a user's fresh module (example.com/hello, grpcpy through a replace)
#      generates its own helloworld package, go mod tidy resolves it, and
#      `go run .` serves and calls the greeter with the typed stub;
#   4. buf (pinned), installed the same way, runs `buf generate` with
#      buf.yaml and buf.gen.yaml from that directory and reproduces the
#      committed files. Installing buf takes about 2 minutes on a 2-core
#      machine with a cold Go build cache (110-150 s measured; 210 s with
#      other builds running), about 20 s with a warm one, and about 1.2 GB
#      (modules in the temp dir, objects in GOCACHE); GRPCPY_TEST_BUF=0
#      skips this step.
# Prints PASS/FAIL per check and "plugin-install: N passed, M failed" last;
# exits non-zero on any failure. The Go build cache (GOCACHE) is the
# caller's, as a user's would be.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps

BUF_VERSION=v1.75.0
repo=$PWD
src=$repo/examples/helloworld/helloworld
tmp=$(mktemp -d)
cleanup() { chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

protobuf_version=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)

# The user's environment: a fresh GOPATH and module cache, installed
# binaries first on PATH (ahead of anything in ~/go/bin). -trimpath keeps
# the module cache's (random) directory out of the build cache's keys:
# without it every run recompiles buf and its dependencies (2-3 minutes)
# and leaves another ~700 MB of unreachable objects in GOCACHE.
export GOPATH=$tmp/gopath GOMODCACHE=$tmp/gopath/pkg/mod GOFLAGS="-modcacherw -trimpath" GOBIN=$tmp/bin
export BUF_CACHE_DIR=$tmp/bufcache
export PATH=$tmp/bin:$PATH
mkdir -p "$tmp/bin" "$tmp/logs"

pass=0 fail=0
finish() {
  echo "plugin-install: $pass passed, $fail failed"
  [ "$fail" -eq 0 ] && exit 0
  exit 1
}
ok() { pass=$((pass+1)); echo "PASS $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }

# run NAME SECONDS CMD...: runs CMD under timeout with its output in
# $tmp/logs/NAME.log, prints its wall time, and on failure the log's tail.
run() {
  local name=$1 limit=$2 start ds rc=0
  shift 2
  start=$(date +%s%N)
  timeout "$limit" "$@" >"$tmp/logs/$name.log" 2>&1 || rc=$?
  ds=$(( ($(date +%s%N) - start) / 100000000 )) # tenths of a second
  echo "    $name: $((ds / 10)).$((ds % 10))s"
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 124 ] && echo "    $name: timed out after ${limit}s"
    tail -n 30 "$tmp/logs/$name.log" | sed 's/^/    | /'
  fi
  return "$rc"
}

# same GOT WANT [FILTER]: byte-identical files (after FILTER, a grep -v
# pattern, when given); prints a diff otherwise.
same() {
  local got=$1 want=$2
  if [ -n "${3:-}" ]; then
    grep -Pv "$3" "$got" >"$got.filtered" || true
    grep -Pv "$3" "$want" >"$tmp/want.filtered" || true
    got=$got.filtered want=$tmp/want.filtered
  fi
  cmp -s "$got" "$want" && return 0
  diff -u "$want" "$got" | head -n 40 | sed 's/^/    | /' || true
  return 1
}

# 1. go install, as a user does.
log "install protoc-gen-grpcpy and protoc-gen-go@$protobuf_version (fresh module cache)"
if run install-grpcpy 300 go install ./cmd/protoc-gen-grpcpy; then
  ok "go install ./cmd/protoc-gen-grpcpy"
else
  bad "go install ./cmd/protoc-gen-grpcpy"; finish
fi
if run install-protoc-gen-go 300 go install "google.golang.org/protobuf/cmd/protoc-gen-go@$protobuf_version"; then
  ok "go install google.golang.org/protobuf/cmd/protoc-gen-go@$protobuf_version"
else
  bad "go install google.golang.org/protobuf/cmd/protoc-gen-go@$protobuf_version"; finish
fi
for p in protoc-gen-grpcpy protoc-gen-go; do
  [ "$(command -v $p)" = "$tmp/bin/$p" ] || { bad "$p on PATH is $(command -v $p), not the one just installed"; finish; }
done
v=$(timeout 10 protoc-gen-grpcpy --version 2>&1) || true
if [[ "$v" =~ ^protoc-gen-grpcpy\ [^[:space:]]+$ ]]; then ok "protoc-gen-grpcpy --version: $v"; else bad "protoc-gen-grpcpy --version printed: $v"; fi

# 2. go generate in a copy of the example's package, against the committed files.
log "go generate (examples/helloworld/helloworld/generate.go) in a copy"
directive=$(grep '^//go:generate ' "$src/generate.go") || { bad "no //go:generate line in $src/generate.go"; finish; }
echo "    ${directive#//go:generate }"
gen=$tmp/generate/helloworld
mkdir -p "$gen"
cp "$src"/* "$gen"/
rm -f "$gen"/*.pb.go
if (cd "$gen" && run go-generate 120 go generate generate.go); then
  for f in helloworld.pb.go helloworld_grpcpy.pb.go; do
    if [ -f "$gen/$f" ] && same "$gen/$f" "$src/$f"; then ok "go generate: $f identical to the committed one"; else bad "go generate: $f differs from the committed one (stale? rerun scripts/proto.sh)"; fi
  done
else
  bad "go generate"
fi

# 3. A user's fresh module using the generated package.
log "a user's module (example.com/hello): protoc, go mod tidy, go run"
user=$tmp/user
mkdir -p "$user/helloworld"
cat >"$user/go.mod" <<EOF
module example.com/hello

go 1.23

require github.com/grpcpy/grpcpy v0.0.0

replace github.com/grpcpy/grpcpy => $repo
EOF
sed 's|^option go_package = .*|option go_package = "example.com/hello/helloworld";|' "$src/helloworld.proto" >"$user/helloworld/helloworld.proto"
grep -q '^option go_package = "example.com/hello/helloworld";$' "$user/helloworld/helloworld.proto" || { bad "could not set go_package in the user's helloworld.proto"; finish; }
cat >"$user/main.go" <<'EOF'
// A user's greeter: server and client in one process, on the typed stubs
// protoc-gen-grpcpy generated into ./helloworld.
package main

import (
	"fmt"
	"log"
	"time"

	"example.com/hello/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

type greeter struct {
	helloworld.UnimplementedGreeterServicer
}

func (greeter) SayHello(request *helloworld.HelloRequest, _ *grpc.ServicerContext) (*helloworld.HelloReply, error) {
	return &helloworld.HelloReply{Message: "Hello, " + request.GetName() + "!"}, nil
}

func main() {
	server, err := grpc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := helloworld.AddGreeterServicerToServer(greeter{}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	defer server.Stop(0)

	channel, err := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := helloworld.NewGreeterStub(channel)
	var reply *helloworld.HelloReply // typed: no assertion
	reply, err = stub.SayHello.Call(&helloworld.HelloRequest{Name: "you"}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatalf("SayHello failed: %v", err)
	}
	fmt.Println("Greeter client received: " + reply.GetMessage())
}
EOF
if (cd "$user/helloworld" && run user-protoc 60 protoc --go_out=. --go_opt=paths=source_relative --grpcpy_out=. --grpcpy_opt=paths=source_relative helloworld.proto) &&
  [ -f "$user/helloworld/helloworld.pb.go" ] && [ -f "$user/helloworld/helloworld_grpcpy.pb.go" ]; then
  ok "user module: protoc generated helloworld.pb.go and helloworld_grpcpy.pb.go"
  if (cd "$user" && run user-go-mod-tidy 300 go mod tidy); then
    ok "user module: go mod tidy"
    out=""
    if (cd "$user" && run user-go-run 300 go run .); then
      out=$(grep -v '^go: ' "$tmp/logs/user-go-run.log" | grep '^Greeter client received: ' || true)
    fi
    if [ "$out" = "Greeter client received: Hello, you!" ]; then ok "user module: go run . printed: $out"; else bad "user module: go run . printed: ${out:-nothing (see above)}"; fi
  else
    bad "user module: go mod tidy"
  fi
else
  bad "user module: protoc"
fi

# 4. buf generate with the example's buf.yaml and buf.gen.yaml.
if [ "${GRPCPY_TEST_BUF:-1}" != 0 ]; then
  log "install buf@$BUF_VERSION (fresh module cache), buf generate in a copy"
  if run install-buf 600 go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"; then
    ok "go install github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
    bufdir=$tmp/buf/helloworld
    mkdir -p "$bufdir"
    cp "$src"/* "$bufdir"/
    rm -f "$bufdir"/*.pb.go
    if (cd "$bufdir" && run buf-generate 120 buf generate); then
      # buf compiles the .proto itself and tells plugins no compiler
      # version, so protoc-gen-go writes "// <tab>protoc        (unknown)"
      # where protoc gives "v3.21.12": that header line alone is excluded
      # from the comparison of helloworld.pb.go.
      if [ -f "$bufdir/helloworld.pb.go" ] && same "$bufdir/helloworld.pb.go" "$src/helloworld.pb.go" '^// \tprotoc +'; then
        ok "buf generate: helloworld.pb.go identical to the committed one (protoc version line excluded)"
      else
        bad "buf generate: helloworld.pb.go differs from the committed one"
      fi
      if [ -f "$bufdir/helloworld_grpcpy.pb.go" ] && same "$bufdir/helloworld_grpcpy.pb.go" "$src/helloworld_grpcpy.pb.go"; then
        ok "buf generate: helloworld_grpcpy.pb.go identical to the committed one"
      else
        bad "buf generate: helloworld_grpcpy.pb.go differs from the committed one"
      fi
    else
      bad "buf generate"
    fi
  else
    bad "go install github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
  fi
else
  echo "SKIP buf (GRPCPY_TEST_BUF=0)"
fi

finish
