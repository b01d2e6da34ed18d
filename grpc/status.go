package grpc

import (
	"fmt"
	"strings"

	"github.com/grpcpy/grpcpy/core"
)

// StatusCode mirrors grpc.StatusCode, which "Mirrors grpc_status_code in the
// gRPC Core": the integer is the core's code. Value returns Python's
// (int, string) pair; String prints the member as Python does
// ("StatusCode.NOT_FOUND").
type StatusCode int

// The members of grpc.StatusCode, with the core's values (read from its
// header by package cgo).
const (
	StatusCodeOK                 StatusCode = core.StatusOK                 // grpc.StatusCode.OK
	StatusCodeCancelled          StatusCode = core.StatusCancelled          // grpc.StatusCode.CANCELLED
	StatusCodeUnknown            StatusCode = core.StatusUnknown            // grpc.StatusCode.UNKNOWN
	StatusCodeInvalidArgument    StatusCode = core.StatusInvalidArgument    // grpc.StatusCode.INVALID_ARGUMENT
	StatusCodeDeadlineExceeded   StatusCode = core.StatusDeadlineExceeded   // grpc.StatusCode.DEADLINE_EXCEEDED
	StatusCodeNotFound           StatusCode = core.StatusNotFound           // grpc.StatusCode.NOT_FOUND
	StatusCodeAlreadyExists      StatusCode = core.StatusAlreadyExists      // grpc.StatusCode.ALREADY_EXISTS
	StatusCodePermissionDenied   StatusCode = core.StatusPermissionDenied   // grpc.StatusCode.PERMISSION_DENIED
	StatusCodeResourceExhausted  StatusCode = core.StatusResourceExhausted  // grpc.StatusCode.RESOURCE_EXHAUSTED
	StatusCodeFailedPrecondition StatusCode = core.StatusFailedPrecondition // grpc.StatusCode.FAILED_PRECONDITION
	StatusCodeAborted            StatusCode = core.StatusAborted            // grpc.StatusCode.ABORTED
	StatusCodeOutOfRange         StatusCode = core.StatusOutOfRange         // grpc.StatusCode.OUT_OF_RANGE
	StatusCodeUnimplemented      StatusCode = core.StatusUnimplemented      // grpc.StatusCode.UNIMPLEMENTED
	StatusCodeInternal           StatusCode = core.StatusInternal           // grpc.StatusCode.INTERNAL
	StatusCodeUnavailable        StatusCode = core.StatusUnavailable        // grpc.StatusCode.UNAVAILABLE
	StatusCodeDataLoss           StatusCode = core.StatusDataLoss           // grpc.StatusCode.DATA_LOSS
	StatusCodeUnauthenticated    StatusCode = core.StatusUnauthenticated    // grpc.StatusCode.UNAUTHENTICATED
)

var statusNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// StatusCodes lists every member in value order.
var StatusCodes = func() []StatusCode {
	out := make([]StatusCode, len(statusNames))
	for i := range out {
		out[i] = StatusCode(i)
	}
	return out
}()

// Name is the Python member name, e.g. "NOT_FOUND".
func (c StatusCode) Name() string {
	if c >= 0 && int(c) < len(statusNames) {
		return statusNames[c]
	}
	return fmt.Sprintf("StatusCode(%d)", int(c))
}

// Value is the member's value in grpcio, the pair (core int, lowercase
// words), e.g. (5, "not found").
func (c StatusCode) Value() (int, string) {
	return int(c), strings.ToLower(strings.ReplaceAll(c.Name(), "_", " "))
}

// String prints the member as Python's str() does: "StatusCode.NOT_FOUND".
func (c StatusCode) String() string { return "StatusCode." + c.Name() }

// statusCodeFromCore maps a grpc_status_code from the core; codes outside
// the enum become UNKNOWN, as grpcio's _common.CYGRPC_STATUS_CODE_TO_STATUS_CODE lookup does.
func statusCodeFromCore(code int) StatusCode {
	if code < 0 || code >= len(statusNames) {
		return StatusCodeUnknown
	}
	return StatusCode(code)
}

// Status mirrors grpc.Status (used by ServicerContext.abort_with_status):
// a code, its details and trailing metadata.
type Status struct {
	Code             StatusCode
	Details          string
	TrailingMetadata Metadata
}
