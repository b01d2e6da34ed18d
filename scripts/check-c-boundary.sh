#!/usr/bin/env bash
# Only package cgo may import "C" (the binding stays in one place).
cd "$(dirname "$0")/.."
stray=$(grep -rl --include='*.go' '^import "C"' . | grep -v '^./cgo/' || true)
if [ -n "$stray" ]; then
  echo "import \"C\" outside cgo/: $stray"
  exit 1
fi
