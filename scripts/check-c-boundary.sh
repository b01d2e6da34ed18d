#!/usr/bin/env bash
# The layering rules, enforced (as grpc-go's scripts/vet.sh enforces its
# own): cgo → core → grpc. Each rule names what it forbids and why.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
# rule NAME PATTERN FILES...: fail if an extended regexp matches a line that
# is not a comment.
rule() {
  local name=$1 pattern=$2
  shift 2
  local hits
  hits=$(grep -nE "$pattern" "$@" 2>/dev/null | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
  if [ -n "$hits" ]; then
    echo "check-c-boundary: $name"
    echo "$hits" | sed 's/^/  /'
    fail=1
  fi
}

# Only package cgo may import "C": the binding stays in one place.
stray=$(grep -rl --include='*.go' '^import "C"' . | grep -v '^./cgo/' || true)
if [ -n "$stray" ]; then
  echo "check-c-boundary: import \"C\" outside cgo/: $stray"
  fail=1
fi

# Package grpc holds Python semantics only: it drives RPCs through core's
# RPC-level operations (StartUnary, SendMessage, SendStatus...) and never
# builds a batch, names an op bit, encodes metadata for C, or manages a
# core call's release. Tests included: they test the public layer.
grpc_files=$(git ls-files 'grpc/*.go' 2>/dev/null || find grpc -name '*.go')
rule "package grpc must not import package cgo (use core's types)" \
  '"github.com/grpcpy/grpcpy/cgo"' $(echo "$grpc_files" | grep -v '_test\.go$')
rule "package grpc must not name batch operation bits" \
  '\bcore\.Op[A-Z][A-Za-z]*|\bcgo\.Op[A-Z]|\bcore\.[A-Za-z]*Ops\b|\bcore\.RecvInitial\b' $grpc_files
rule "package grpc must not build batches (core.Send, Start of raw ops)" \
  '\bcore\.Send\b|\bcgo\.Send\b|\.StartBatch\(|\.Start\(core\.|\.StartFinal\(' $grpc_files
rule "package grpc must not hold C-shaped metadata buffers" \
  '\bMetadataBuf\b|\bEncodeMetadata\b' $grpc_files
rule "package grpc must not release core calls by hand (core owns call references)" \
  '\bAbandon\(|\.Unref\(' $grpc_files
rule "package grpc must not set wait-for-ready flags itself" \
  '\bInitialMetadataFlags\b|\bFlagWaitForReady' $grpc_files

# Companion packages (grpc/health, ...) and the examples sit on package
# grpc, as a user's code does, never below it. (cmd/burst and cmd/soak
# read the engine's counters on purpose.)
# grpc/channelz is the one exception: it serves the core's own channelz
# data (core.Channelz*), as grpcio's channelz servicer reads cygrpc's.
above=$(git ls-files 'grpc/*/*.go' 'examples/*.go' 2>/dev/null | grep -v '_test\.go$' | grep -v '^grpc/channelz/' || true)
if [ -n "$above" ]; then
  rule "companion packages and examples must not import core or cgo" \
    '"github.com/grpcpy/grpcpy/(core|cgo)"' $above
fi

exit $fail
