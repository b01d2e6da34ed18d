package grpc

import (
	"errors"
	"fmt"
	"time"

	"github.com/grpcpy/grpcpy/core"
)

// ValueError stands for the ValueError grpcio raises on bad arguments
// (invalid metadata, a handler value of the wrong kind, a second
// send_initial_metadata). Match it with errors.As.
type ValueError struct {
	Msg string
	Err error // the underlying cause, if any
}

func (e *ValueError) Error() string { return "grpc: " + e.Msg }

// Unwrap returns the cause.
func (e *ValueError) Unwrap() error { return e.Err }

// NotImplementedError mirrors Python's NotImplementedError, which the
// generated servicer base class raises for a method the server does not
// implement (after setting UNIMPLEMENTED "Method not implemented!" on the
// context). Generated UnimplementedFooServicer methods return it.
type NotImplementedError struct{ Msg string }

func (e *NotImplementedError) Error() string { return e.Msg }

// ErrChannelClosed is returned when an RPC is invoked on a closed Channel
// (grpcio raises ValueError "Cannot invoke RPC on closed channel!").
var ErrChannelClosed = &ValueError{Msg: core.ErrChannelClosed.Error(), Err: core.ErrChannelClosed}

// ErrServerStarted is returned by calls only allowed before Server.Start.
var ErrServerStarted = errors.New("grpc: server already started")

// ErrServerStopped is returned by calls on a stopped Server.
var ErrServerStopped = errors.New("grpc: server is stopped")

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

// Error reads as grpcio's str() of the error (_InactiveRpcError), on one
// line as Go errors are: "<RpcError of RPC that terminated with: status =
// StatusCode.UNAVAILABLE, details = "...", debug_error_string = "...">".
func (e *RpcError) Error() string {
	s := fmt.Sprintf("<RpcError of RPC that terminated with: status = %s, details = %q", e.code, e.details)
	if e.debugError != "" {
		s += fmt.Sprintf(", debug_error_string = %q", e.debugError)
	}
	return s + ">"
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

// FutureTimeoutError mirrors grpc.FutureTimeoutError: "Indicates that a
// method call on a Future timed out."
type FutureTimeoutError struct{}

func (FutureTimeoutError) Error() string { return "grpc: Future timed out" }

// FutureCancelledError mirrors grpc.FutureCancelledError: "Indicates that the
// computation underlying a Future was cancelled."
type FutureCancelledError struct{}

func (FutureCancelledError) Error() string { return "grpc: Future was cancelled" }

// TypeError stands for the TypeError grpcio raises for a value of the
// wrong kind, e.g. an interceptor of none of the four client kinds.
type TypeError struct{ Msg string }

func (e *TypeError) Error() string { return "grpc: " + e.Msg }
