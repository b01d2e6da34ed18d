#!/usr/bin/env bash
# Regenerates the committed .pb.go files with protoc, protoc-gen-go (pinned
# to the protobuf module version in go.mod) and protoc-gen-grpcpy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_deps
go install google.golang.org/protobuf/cmd/protoc-gen-go
go install ./cmd/protoc-gen-grpcpy
for proto in $(git ls-files '*.proto' | grep -v '^cmd/protoc-gen-grpcpy/testdata/'); do
  dir=$(dirname "$proto")
  log "protoc $proto"
  (cd "$dir" && protoc --go_out=. --go_opt=paths=source_relative \
    --grpcpy_out=. --grpcpy_opt=paths=source_relative "$(basename "$proto")")
done
# gRPC's own service protos (Debian's grpc-proto) as a descriptor set for
# the companion packages (internal/grpcprotos).
ensure_packages grpc-proto
log "internal/grpcprotos/grpc_protos.binpb"
protoc -I /usr/share/grpc-proto -I /usr/include --include_imports --descriptor_set_out=internal/grpcprotos/grpc_protos.binpb \
  grpc/health/v1/health.proto grpc/reflection/v1/reflection.proto \
  grpc/reflection/v1alpha/reflection.proto grpc/channelz/v1/channelz.proto
# The plugin's golden files (testdata/golden), from its own test.
log "protoc-gen-grpcpy golden files"
go test ./cmd/protoc-gen-grpcpy -run TestGolden -update
