package grpc

import (
	"errors"

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

// ErrChannelClosed is returned when an RPC is invoked on a closed Channel
// (grpcio raises ValueError "Cannot invoke RPC on closed channel!").
var ErrChannelClosed = &ValueError{Msg: core.ErrChannelClosed.Error(), Err: core.ErrChannelClosed}

// ErrServerStarted is returned by calls only allowed before Server.Start.
var ErrServerStarted = errors.New("grpc: server already started")

// ErrServerStopped is returned by calls on a stopped Server.
var ErrServerStopped = errors.New("grpc: server is stopped")
