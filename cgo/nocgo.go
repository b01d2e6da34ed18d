//go:build !cgo

package cgo

// grpcpy is a binding over the gRPC C core and cannot work without cgo.
// Building with CGO_ENABLED=0 stops here with the message below as the
// undefined name, instead of a page of missing-symbol errors.
var _ = grpcpy_needs_cgo__build_with_CGO_ENABLED_1_and_install_libgrpc_dev
