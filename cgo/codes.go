//go:build cgo

package cgo

/*
#include "shim.h"
*/
import "C"

// grpc_status_code, read from the core's own header by cgo at build time:
// the one source of the values package core and package grpc use.
const (
	StatusOK                 = C.GRPC_STATUS_OK
	StatusCancelled          = C.GRPC_STATUS_CANCELLED
	StatusUnknown            = C.GRPC_STATUS_UNKNOWN
	StatusInvalidArgument    = C.GRPC_STATUS_INVALID_ARGUMENT
	StatusDeadlineExceeded   = C.GRPC_STATUS_DEADLINE_EXCEEDED
	StatusNotFound           = C.GRPC_STATUS_NOT_FOUND
	StatusAlreadyExists      = C.GRPC_STATUS_ALREADY_EXISTS
	StatusPermissionDenied   = C.GRPC_STATUS_PERMISSION_DENIED
	StatusResourceExhausted  = C.GRPC_STATUS_RESOURCE_EXHAUSTED
	StatusFailedPrecondition = C.GRPC_STATUS_FAILED_PRECONDITION
	StatusAborted            = C.GRPC_STATUS_ABORTED
	StatusOutOfRange         = C.GRPC_STATUS_OUT_OF_RANGE
	StatusUnimplemented      = C.GRPC_STATUS_UNIMPLEMENTED
	StatusInternal           = C.GRPC_STATUS_INTERNAL
	StatusUnavailable        = C.GRPC_STATUS_UNAVAILABLE
	StatusDataLoss           = C.GRPC_STATUS_DATA_LOSS
	StatusUnauthenticated    = C.GRPC_STATUS_UNAUTHENTICATED
)

// grpc_connectivity_state, from the core's header.
const (
	ConnectivityIdle             = C.GRPC_CHANNEL_IDLE
	ConnectivityConnecting       = C.GRPC_CHANNEL_CONNECTING
	ConnectivityReady            = C.GRPC_CHANNEL_READY
	ConnectivityTransientFailure = C.GRPC_CHANNEL_TRANSIENT_FAILURE
	ConnectivityShutdown         = C.GRPC_CHANNEL_SHUTDOWN
)
