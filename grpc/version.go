package grpc

import "github.com/grpcpy/grpcpy/core"

// Version mirrors grpc.__version__: the grpcio API level this package
// mirrors, name for name.
const Version = "1.18.0"

// CoreVersion is the version of the linked gRPC C core
// (grpc_version_string(), e.g. "29.0.0" for the core of grpcio 1.51).
func CoreVersion() string { return core.CoreVersion() }

// GStandsFor is what the g in gRPC stands for in the linked core
// (grpc_g_stands_for()).
func GStandsFor() string { return core.GStandsFor() }

// LinkInfo says how the C core is linked into this binary: dynamic
// (pkg-config grpc, the default) or static (-tags grpc_static).
const LinkInfo = core.LinkInfo
