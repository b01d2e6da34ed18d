// inproc.cc: the core's in-process transport (src/core/ext/transport/inproc).
// Its constructor is declared in a core-internal header that libgrpc-dev does
// not ship and is exported from libgrpc with C++ linkage, so it is declared
// here as the core does and wrapped for C. A channel made with it reaches a
// server of the same process through the whole call stack (filters, status,
// metadata, flow control) but opens no socket: grpc/testing runs servicers
// and clients in-process with it.
//go:build cgo

#include <grpc/grpc.h>

grpc_channel* grpc_inproc_channel_create(grpc_server* server, const grpc_channel_args* args,
                                         void* reserved);

extern "C" grpc_channel* gp_inproc_channel_create_cc(grpc_server* server,
                                                     const grpc_channel_args* args) {
  return grpc_inproc_channel_create(server, args, nullptr);
}
