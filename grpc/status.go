package grpc

import (
	"fmt"
	"strings"
	"time"
)

// StatusCode mirrors grpc.StatusCode, which "Mirrors grpc_status_code in the
// gRPC Core": the integer is the core's code. Value returns Python's
// (int, string) pair; String prints the member as Python does
// ("StatusCode.NOT_FOUND").
type StatusCode int

// The members of grpc.StatusCode, with the core's values.
const (
	StatusCodeOK                 StatusCode = 0  // grpc.StatusCode.OK
	StatusCodeCancelled          StatusCode = 1  // grpc.StatusCode.CANCELLED
	StatusCodeUnknown            StatusCode = 2  // grpc.StatusCode.UNKNOWN
	StatusCodeInvalidArgument    StatusCode = 3  // grpc.StatusCode.INVALID_ARGUMENT
	StatusCodeDeadlineExceeded   StatusCode = 4  // grpc.StatusCode.DEADLINE_EXCEEDED
	StatusCodeNotFound           StatusCode = 5  // grpc.StatusCode.NOT_FOUND
	StatusCodeAlreadyExists      StatusCode = 6  // grpc.StatusCode.ALREADY_EXISTS
	StatusCodePermissionDenied   StatusCode = 7  // grpc.StatusCode.PERMISSION_DENIED
	StatusCodeResourceExhausted  StatusCode = 8  // grpc.StatusCode.RESOURCE_EXHAUSTED
	StatusCodeFailedPrecondition StatusCode = 9  // grpc.StatusCode.FAILED_PRECONDITION
	StatusCodeAborted            StatusCode = 10 // grpc.StatusCode.ABORTED
	StatusCodeOutOfRange         StatusCode = 11 // grpc.StatusCode.OUT_OF_RANGE
	StatusCodeUnimplemented      StatusCode = 12 // grpc.StatusCode.UNIMPLEMENTED
	StatusCodeInternal           StatusCode = 13 // grpc.StatusCode.INTERNAL
	StatusCodeUnavailable        StatusCode = 14 // grpc.StatusCode.UNAVAILABLE
	StatusCodeDataLoss           StatusCode = 15 // grpc.StatusCode.DATA_LOSS
	StatusCodeUnauthenticated    StatusCode = 16 // grpc.StatusCode.UNAUTHENTICATED
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

// ChannelConnectivity mirrors grpc.ChannelConnectivity ("Mirrors
// grpc_connectivity_state in the gRPC Core"); the integer is the core's.
type ChannelConnectivity int

// The members of grpc.ChannelConnectivity.
const (
	ChannelConnectivityIdle             ChannelConnectivity = 0 // grpc.ChannelConnectivity.IDLE
	ChannelConnectivityConnecting       ChannelConnectivity = 1 // grpc.ChannelConnectivity.CONNECTING
	ChannelConnectivityReady            ChannelConnectivity = 2 // grpc.ChannelConnectivity.READY
	ChannelConnectivityTransientFailure ChannelConnectivity = 3 // grpc.ChannelConnectivity.TRANSIENT_FAILURE
	ChannelConnectivityShutdown         ChannelConnectivity = 4 // grpc.ChannelConnectivity.SHUTDOWN
)

var connectivityNames = [...]string{"IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE", "SHUTDOWN"}

// Name is the Python member name, e.g. "READY".
func (c ChannelConnectivity) Name() string {
	if c >= 0 && int(c) < len(connectivityNames) {
		return connectivityNames[c]
	}
	return fmt.Sprintf("ChannelConnectivity(%d)", int(c))
}

// Value is grpcio's (core int, words) pair, e.g. (3, "transient failure").
func (c ChannelConnectivity) Value() (int, string) {
	return int(c), strings.ToLower(strings.ReplaceAll(c.Name(), "_", " "))
}

// String prints as Python: "ChannelConnectivity.READY".
func (c ChannelConnectivity) String() string { return "ChannelConnectivity." + c.Name() }

// Status mirrors grpc.Status (used by ServicerContext.abort_with_status):
// a code, its details and trailing metadata.
type Status struct {
	Code             StatusCode
	Details          string
	TrailingMetadata Metadata
}

// RpcError mirrors grpc.RpcError, "Raised by the gRPC library to indicate
// non-OK-status RPC termination". As in grpcio, the error of a finished RPC
// is also a Call: it has Code, Details, InitialMetadata and
// TrailingMetadata. Match it with errors.As.
//
// Invariant: an *RpcError never carries StatusCodeOK.
type RpcError struct {
	code             StatusCode
	details          string
	initialMetadata  Metadata
	trailingMetadata Metadata
	debugError       string
}

func newRpcError(code StatusCode, details string, initial, trailing Metadata, debug string) *RpcError {
	if code == StatusCodeOK {
		code = StatusCodeUnknown
	}
	return &RpcError{code: code, details: details, initialMetadata: initial, trailingMetadata: trailing, debugError: debug}
}

// Error formats like grpcio's _InactiveRpcError, on one line.
func (e *RpcError) Error() string {
	s := fmt.Sprintf("RPC terminated with status = %s, details = %q", e.code, e.details)
	if e.debugError != "" {
		s += ", debug_error_string = " + e.debugError
	}
	return s
}

// Code mirrors grpc.Call.code().
func (e *RpcError) Code() StatusCode { return e.code }

// Details mirrors grpc.Call.details().
func (e *RpcError) Details() string { return e.details }

// InitialMetadata mirrors grpc.Call.initial_metadata().
func (e *RpcError) InitialMetadata() Metadata { return e.initialMetadata }

// TrailingMetadata mirrors grpc.Call.trailing_metadata().
func (e *RpcError) TrailingMetadata() Metadata { return e.trailingMetadata }

// DebugErrorString is the core's error string from RECV_STATUS_ON_CLIENT
// (grpcio's debug_error_string()).
func (e *RpcError) DebugErrorString() string { return e.debugError }

// Status returns the error's status.
func (e *RpcError) Status() Status {
	return Status{Code: e.code, Details: e.details, TrailingMetadata: e.trailingMetadata}
}

// IsActive mirrors grpc.RpcContext.is_active(): an error's RPC is over.
func (e *RpcError) IsActive() bool { return false }

// TimeRemaining mirrors grpc.RpcContext.time_remaining(); a finished RPC
// has none left.
func (e *RpcError) TimeRemaining() (time.Duration, bool) { return 0, false }

// Cancel mirrors grpc.RpcContext.cancel(): no effect on a terminated RPC.
func (e *RpcError) Cancel() bool { return false }

// AddCallback mirrors grpc.RpcContext.add_callback(): the RPC already
// terminated, so the callback is not added.
func (e *RpcError) AddCallback(func()) bool { return false }
