#!/usr/bin/env bash
# Installs the foreign command-line peers the tests run (pinned versions,
# from the Go module proxy) into bin/tools; idempotent. Tests find them with
# GRPCPY_TOOLS (default bin/tools under the repository root).
#   grpcurl            github.com/fullstorydev/grpcurl (reflection, health Check, channelz)
#   grpc-health-probe  github.com/grpc-ecosystem/grpc-health-probe (health Check)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
GRPCURL_VERSION=v1.9.4
HEALTH_PROBE_VERSION=v0.4.63
mkdir -p bin/tools
install_tool() { # install_tool BINARY MODULE-PATH@VERSION
  local bin=$1 pkg=$2 stamp="bin/tools/.$1.version"
  if [ -x "bin/tools/$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then
    return
  fi
  log "go install $pkg"
  GOBIN="$PWD/bin/tools" timeout 900 go install "$pkg"
  echo "$pkg" >"$stamp"
}
install_tool grpcurl "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
install_tool grpc-health-probe "github.com/grpc-ecosystem/grpc-health-probe@$HEALTH_PROBE_VERSION"
