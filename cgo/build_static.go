//go:build cgo && grpc_static

package cgo

// Static build (go build -tags grpc_static): link the system's libgrpc.a and
// the abseil, re2, c-ares, upb and OpenSSL archives into the binary, so it
// runs where libgrpc is not installed. The archives come from libgrpc-dev;
// pkg-config --static lists their dependencies.

/*
#cgo pkg-config: --static grpc
#cgo LDFLAGS: -static-libstdc++ -lstdc++ -lm
*/
import "C"

// LinkInfo says how the C core was linked into this binary.
const LinkInfo = "static (pkg-config --static grpc)"
