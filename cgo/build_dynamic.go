//go:build cgo && !grpc_static

package cgo

// Default build: link the system's shared libgrpc found by pkg-config
// (Debian/Ubuntu: libgrpc-dev).

/*
#cgo pkg-config: grpc
*/
import "C"

// LinkInfo says how the C core was linked into this binary.
const LinkInfo = "dynamic (pkg-config grpc)"
