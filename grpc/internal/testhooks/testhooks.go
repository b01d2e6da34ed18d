// Package testhooks is how grpc/testing (Python's grpc_testing) hands a
// Channel and a Server its Time, so deadlines, TimeRemaining and IsActive
// follow a fake clock. It is not part of the API: package grpc fills in
// the setters, grpc/testing calls them.
package testhooks

import "time"

// Clock is the part of grpc_testing's Time the library needs.
type Clock interface {
	// Now is the clock's current time (grpc_testing.Time.time()).
	Now() time.Time
	// At runs f once the clock reaches t (Time.call_at); cancel
	// unschedules it if it has not run.
	At(f func(), t time.Time) (cancel func())
}

// DeadlineKey is the invocation-metadata key that carries a call's
// deadline on the test clock (Unix nanoseconds, decimal) from a channel
// with a Clock to a server with one, which strips it. The core itself is
// given no deadline: the channel cancels the call with DEADLINE_EXCEEDED
// when the clock reaches it.
const DeadlineKey = "grpcpy-testing-deadline"

var (
	// SetChannelClock gives a *grpc.Channel its clock (set by package grpc).
	SetChannelClock func(channel any, c Clock)
	// SetServerClock gives a *grpc.Server its clock (set by package grpc).
	SetServerClock func(server any, c Clock)
)
