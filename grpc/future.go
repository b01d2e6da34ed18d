package grpc

import (
	"time"
)

// Future mirrors grpc.Future: "A representation of a computation in another
// control flow." Python's optional timeout=None arguments are Go's optional
// trailing timeout: Result() blocks until the computation ends,
// Result(d) waits at most d.
type Future interface {
	// Cancel mirrors cancel(): attempts to cancel the computation without
	// blocking; false if it already finished.
	Cancel() bool
	// Cancelled mirrors cancelled(); it does not block.
	Cancelled() bool
	// Running mirrors running(); it does not block.
	Running() bool
	// Done mirrors done(), the opposite of Running; it does not block.
	Done() bool
	// Result mirrors result(timeout=None): the computation's value, or the
	// error it ended with, or FutureTimeoutError / FutureCancelledError.
	Result(timeout ...time.Duration) (any, error)
	// Exception mirrors exception(timeout=None): the computation's error
	// (nil on success); err is FutureTimeoutError or FutureCancelledError.
	Exception(timeout ...time.Duration) (exception error, err error)
	// Traceback mirrors traceback(timeout=None). Go errors carry no Python
	// traceback; this returns the failure's diagnostic text (for an RPC,
	// the core's debug error string), "" on success.
	Traceback(timeout ...time.Duration) (string, error)
	// AddDoneCallback mirrors add_done_callback(fn): fn is called with this
	// Future when it terminates, at once (on the caller's goroutine) if it
	// already has.
	AddDoneCallback(fn func(Future))
}

// waitDone waits for done, for at most the optional timeout.
func waitDone(done <-chan struct{}, timeout []time.Duration) bool {
	if len(timeout) == 0 {
		<-done
		return true
	}
	select {
	case <-done:
		return true
	default:
	}
	if timeout[0] <= 0 {
		return false
	}
	t := time.NewTimer(timeout[0])
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
