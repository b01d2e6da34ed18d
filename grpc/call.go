package grpc

import (
	"context"
	"time"

	"github.com/grpcpy/grpcpy/core"
)

// RpcContext mirrors grpc.RpcContext: "Provides RPC-related information and
// action." Call and ServicerContext satisfy it.
type RpcContext interface {
	// IsActive mirrors is_active(): true while the RPC is running.
	IsActive() bool
	// TimeRemaining mirrors time_remaining(): the time left before the
	// deadline, never negative; ok is false when the RPC has no deadline
	// (Python's None).
	TimeRemaining() (remaining time.Duration, ok bool)
	// Cancel mirrors cancel(): cancels the RPC; idempotent, no effect once
	// the RPC has terminated. It reports whether this call cancelled it
	// (the bool of Future.cancel(), which shares the name in Python).
	Cancel() bool
	// AddCallback mirrors add_callback(callback): registers a function to
	// run when the RPC terminates; false if the RPC already terminated.
	AddCallback(callback func()) bool
}

// Call mirrors grpc.Call, the "Invocation-side utility object for an RPC".
// Each method blocks until its value is available.
type Call interface {
	RpcContext
	// InitialMetadata mirrors initial_metadata().
	InitialMetadata() Metadata
	// TrailingMetadata mirrors trailing_metadata().
	TrailingMetadata() Metadata
	// Code mirrors code().
	Code() StatusCode
	// Details mirrors details().
	Details() string
}

// CallFuture is grpcio's Call-Future: "An object that is both a Call for
// the RPC and a Future", returned by the future() methods.
type CallFuture interface {
	Call
	Future
}

// CallOption is one of the keyword arguments of a multi-callable's
// __call__, with_call and future: timeout, metadata, credentials,
// wait_for_ready. Go adds WithContext.
type CallOption func(*callOptions)

type callOptions struct {
	timeout      time.Duration
	hasTimeout   bool
	metadata     Metadata
	waitForReady *bool
	ctx          context.Context
	credentials  *CallCredentials

	compression    Compression
	hasCompression bool
}

// WithTimeout is the timeout= keyword: "An optional duration of time in
// seconds to allow for the RPC"; not given means no deadline. An expired
// deadline ends the RPC with DEADLINE_EXCEEDED. Drives the deadline of
// grpc_channel_create_call.
func WithTimeout(timeout time.Duration) CallOption {
	return func(o *callOptions) { o.timeout, o.hasTimeout = timeout, true }
}

// WithMetadata is the metadata= keyword: metadata sent to the server in
// SEND_INITIAL_METADATA. Invalid keys or values are refused before
// anything is sent, with a *ValueError.
func WithMetadata(md Metadata) CallOption {
	return func(o *callOptions) { o.metadata = append(o.metadata, md...) }
}

// WithWaitForReady is the wait_for_ready= keyword: with true the RPC waits
// for the channel to become READY instead of failing fast while it is in
// TRANSIENT_FAILURE (GRPC_INITIAL_METADATA_WAIT_FOR_READY).
func WithWaitForReady(waitForReady bool) CallOption {
	return func(o *callOptions) { o.waitForReady = &waitForReady }
}

// WithContext ties the RPC to ctx (a Go addition): ctx's deadline bounds
// the RPC's deadline and cancelling ctx cancels the RPC.
func WithContext(ctx context.Context) CallOption {
	return func(o *callOptions) { o.ctx = ctx }
}

func buildCallOptions(opts []CallOption) callOptions {
	var o callOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// deadline resolves timeout= and the context deadline to the relative
// timeout for the core (core.NoDeadline: none) and the absolute deadline.
// A negative timeout is a deadline already past, as grpcio's
// time.time() + timeout: the RPC ends with DEADLINE_EXCEEDED (newRPC).
func (o *callOptions) deadline() (time.Duration, time.Time, bool) {
	var dl time.Time
	has := false
	if o.hasTimeout {
		dl, has = time.Now().Add(o.timeout), true
	}
	if o.ctx != nil {
		if cd, ok := o.ctx.Deadline(); ok && (!has || cd.Before(dl)) {
			dl, has = cd, true
		}
	}
	if !has {
		return core.NoDeadline, time.Time{}, false
	}
	return time.Until(dl), dl, true
}

// deadlineOn is deadline for a channel with a test clock (grpc/testing)
// reading now: timeout= counts on that clock; a context's deadline,
// real time, is left to WithContext's cancel.
func (o *callOptions) deadlineOn(now time.Time) (time.Duration, time.Time, bool) {
	if !o.hasTimeout {
		return core.NoDeadline, time.Time{}, false
	}
	return o.timeout, now.Add(o.timeout), true
}

func timeRemaining(deadline time.Time, has bool) (time.Duration, bool) {
	return timeRemainingAt(time.Now(), deadline, has)
}

func timeRemainingAt(now, deadline time.Time, has bool) (time.Duration, bool) {
	if !has {
		return 0, false
	}
	return max(deadline.Sub(now), 0), true
}
