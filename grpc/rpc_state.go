package grpc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc/internal/testhooks"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// rpcState is the client side of one RPC once started: grpcio's _RPCState
// and _Rendezvous in one. It is a Call and a Future; its response and
// status are set once, by terminate.
type rpcState struct {
	cc          *core.ClientCall
	deadline    time.Time
	hasDeadline bool
	stopCtx     func() bool
	now         func() time.Time // the channel's test clock (grpc/testing); nil: time.Now
	stopExpiry  func()           // unschedules a test-clock deadline

	done        chan struct{}
	initialDone chan struct{} // closed once the initial metadata is known
	initialOnce sync.Once

	mu            sync.Mutex
	finished      bool
	cancelled     bool
	response      any
	err           *RpcError
	code          StatusCode
	details       string
	initial       Metadata
	trailing      Metadata
	callbacks     []func()
	doneCallbacks []func(Future)
}

func newRPCState(cc *core.ClientCall, deadline time.Time, has bool) *rpcState {
	return &rpcState{cc: cc, deadline: deadline, hasDeadline: has,
		done: make(chan struct{}), initialDone: make(chan struct{})}
}

// setInitial records the server's initial metadata (once).
func (s *rpcState) setInitial(md Metadata) {
	s.initialOnce.Do(func() {
		s.mu.Lock()
		s.initial = md
		s.mu.Unlock()
		close(s.initialDone)
	})
}

// watchContext cancels the RPC when ctx ends (Go's addition).
func (s *rpcState) watchContext(ctx context.Context) {
	if ctx == nil || ctx.Done() == nil {
		return
	}
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			s.cc.CancelWithStatus(int(StatusCodeDeadlineExceeded), "Deadline Exceeded")
			return
		}
		s.cancel()
	})
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		stop()
		return
	}
	s.stopCtx = stop
	s.mu.Unlock()
}

// terminate records the outcome once and runs the callbacks on the
// calling goroutine (never a poller: it may run user code).
func (s *rpcState) terminate(resp any, code StatusCode, details string, initial, trailing Metadata, debug string) bool {
	return s.terminateAs(false, resp, code, details, initial, trailing, debug)
}

func (s *rpcState) terminateAs(cancelled bool, resp any, code StatusCode, details string, initial, trailing Metadata, debug string) bool {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return false
	}
	s.finished = true
	s.cancelled = cancelled
	s.response = resp
	s.code, s.details, s.trailing = code, details, trailing
	if code != StatusCodeOK {
		s.err = newRpcError(code, details, initial, trailing, debug)
	}
	cbs, dcbs := s.callbacks, s.doneCallbacks
	s.callbacks, s.doneCallbacks = nil, nil
	stop, stopExpiry := s.stopCtx, s.stopExpiry
	s.mu.Unlock()
	s.setInitial(initial) // no-op if a streaming RPC already set it
	close(s.done)
	if stop != nil {
		stop()
	}
	if stopExpiry != nil {
		stopExpiry()
	}
	// A panicking callback is logged, as grpcio logs what its callbacks
	// raise; the others still run and the process lives on.
	for _, cb := range cbs {
		logging.Guard(logging.Channel, callbackPanicked, cb)
	}
	f := s.asFuture()
	for _, cb := range dcbs {
		logging.Guard(logging.Channel, doneCallbackPanicked, func() { cb(f) })
	}
	return true
}

// cancel is grpcio's Future.cancel/Call.cancel: if the RPC is still
// running, cancel it in the core with CANCELLED "Locally cancelled by
// application!" and terminate the future at once.
func (s *rpcState) cancel() bool {
	const details = "Locally cancelled by application!"
	if !s.terminateAs(true, nil, StatusCodeCancelled, details, nil, nil, "") {
		return false
	}
	if s.cc != nil {
		s.cc.CancelWithStatus(int(StatusCodeCancelled), details)
	}
	return true
}

// asFuture is the value handed to done callbacks.
func (s *rpcState) asFuture() Future { return (*unaryFuture)(s) }

// ---- RpcContext ----

func (s *rpcState) IsActive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *rpcState) TimeRemaining() (time.Duration, bool) {
	if s.now != nil {
		return timeRemainingAt(s.now(), s.deadline, s.hasDeadline)
	}
	return timeRemaining(s.deadline, s.hasDeadline)
}

func (s *rpcState) Cancel() bool { return s.cancel() }

func (s *rpcState) AddCallback(cb func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return false
	}
	s.callbacks = append(s.callbacks, cb)
	return true
}

// ---- Call ----

func (s *rpcState) InitialMetadata() Metadata {
	<-s.initialDone
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initial
}

func (s *rpcState) TrailingMetadata() Metadata {
	<-s.done
	return s.trailing
}

func (s *rpcState) Code() StatusCode {
	<-s.done
	return s.code
}

func (s *rpcState) Details() string {
	<-s.done
	return s.details
}

// unaryFuture is rpcState seen as grpcio's Call-Future.
type unaryFuture rpcState

func (f *unaryFuture) s() *rpcState { return (*rpcState)(f) }

func (f *unaryFuture) IsActive() bool                       { return f.s().IsActive() }
func (f *unaryFuture) TimeRemaining() (time.Duration, bool) { return f.s().TimeRemaining() }
func (f *unaryFuture) Cancel() bool                         { return f.s().cancel() }
func (f *unaryFuture) AddCallback(cb func()) bool           { return f.s().AddCallback(cb) }
func (f *unaryFuture) InitialMetadata() Metadata            { return f.s().InitialMetadata() }
func (f *unaryFuture) TrailingMetadata() Metadata           { return f.s().TrailingMetadata() }
func (f *unaryFuture) Code() StatusCode                     { return f.s().Code() }
func (f *unaryFuture) Details() string                      { return f.s().Details() }
func (f *unaryFuture) Done() bool                           { return !f.s().IsActive() }
func (f *unaryFuture) Running() bool                        { return f.s().IsActive() }

func (f *unaryFuture) Cancelled() bool {
	s := f.s()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancelled
}

func (f *unaryFuture) Result(timeout ...time.Duration) (any, error) {
	s := f.s()
	if !waitDone(s.done, timeout) {
		return nil, FutureTimeoutError{}
	}
	if s.cancelled {
		return nil, FutureCancelledError{}
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.response, nil
}

func (f *unaryFuture) Exception(timeout ...time.Duration) (error, error) {
	s := f.s()
	if !waitDone(s.done, timeout) {
		return nil, FutureTimeoutError{}
	}
	if s.cancelled {
		return nil, FutureCancelledError{}
	}
	if s.err != nil {
		return s.err, nil
	}
	return nil, nil
}

func (f *unaryFuture) Traceback(timeout ...time.Duration) (string, error) {
	exc, err := f.Exception(timeout...)
	if err != nil || exc == nil {
		return "", err
	}
	if r, ok := exc.(*RpcError); ok && r.debugError != "" {
		return r.debugError, nil
	}
	return exc.Error(), nil
}

func (f *unaryFuture) AddDoneCallback(fn func(Future)) {
	s := f.s()
	s.mu.Lock()
	if !s.finished {
		s.doneCallbacks = append(s.doneCallbacks, fn)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	logging.Guard(logging.Channel, doneCallbackPanicked, func() { fn(f) })
}

// The messages grpcio logs when a callback raises.
const (
	callbackPanicked     = "Exception in callback!"
	doneCallbackPanicked = "Exception calling future done callback!"
)

// newRPC is the common start of every client RPC: validate the metadata,
// serialise a unary request, honour an already-done context, and create
// the core call. An RPC that ends before reaching the core (a request
// that fails to serialise, a done context) comes back terminated, with a
// nil core call. Errors are for bad arguments only.
func (ch *Channel) newRPC(method string, opts []CallOption, ser encoder, request any, unaryRequest bool) (
	s *rpcState, o callOptions, md core.OutgoingMetadata, payload core.Payload, err error) {
	o = buildCallOptions(opts)
	callMD := o.metadata
	if o.hasCompression {
		if err := o.compression.check(); err != nil {
			return nil, o, md, payload, err
		}
		// grpcio's _compression.augment_metadata: the core compresses
		// this call's messages with the algorithm the entry names.
		callMD = append(append(Metadata(nil), o.metadata...), o.compression.metadatum())
	}
	clock := ch.rootChannel().clock
	timeout, deadline, hasDeadline := o.deadline()
	if clock != nil {
		timeout, deadline, hasDeadline = o.deadlineOn(clock.Now())
		if hasDeadline {
			// The server with the same clock reads it (grpc/testing); the
			// core gets none: expireOn cancels the call instead.
			callMD = append(append(Metadata(nil), callMD...),
				Metadatum{testhooks.DeadlineKey, strconv.FormatInt(deadline.UnixNano(), 10)})
		}
	}
	if md, err = checkMetadata(callMD); err != nil {
		return nil, o, md, payload, err
	}
	if unaryRequest {
		var serr error
		if payload, serr = serialize(ser, request); serr != nil {
			s = newRPCState(nil, deadline, hasDeadline)
			s.terminate(nil, StatusCodeInternal, "Exception serializing request!", nil, nil, serr.Error())
			return s, o, md, payload, nil
		}
	}
	if o.ctx != nil && o.ctx.Err() != nil {
		s = newRPCState(nil, deadline, hasDeadline)
		// The context says which it was: a deadline can pass between
		// o.deadline() and here, so the computed timeout cannot tell.
		code, details := StatusCodeCancelled, "Locally cancelled by application!"
		if errors.Is(o.ctx.Err(), context.DeadlineExceeded) {
			code, details = StatusCodeDeadlineExceeded, "Deadline Exceeded"
		}
		s.terminate(nil, code, details, nil, nil, o.ctx.Err().Error())
		return s, o, md, payload, nil
	}
	if hasDeadline && timeout <= 0 {
		// A deadline already past (a negative or zero timeout, an expired
		// context deadline) ends the RPC here: handed to the core, the
		// deadline timer raced a fast server and 43 of 50 such RPCs came
		// back OK, where grpcio reports DEADLINE_EXCEEDED every time.
		s = newRPCState(nil, deadline, hasDeadline)
		s.terminate(nil, StatusCodeDeadlineExceeded, "Deadline Exceeded", nil, nil,
			"deadline already passed when the RPC started")
		return s, o, md, payload, nil
	}
	var creds core.CallCredentials
	if o.credentials != nil {
		creds = o.credentials.build()
		defer creds.Release() // the call holds its own reference
	}
	coreTimeout := timeout
	if clock != nil {
		coreTimeout = core.NoDeadline
	}
	cc, err := ch.c.NewCall(method, "", coreTimeout, creds)
	if err != nil {
		if errors.Is(err, core.ErrChannelClosed) {
			return nil, o, md, payload, ErrChannelClosed
		}
		if errors.Is(err, core.ErrInprocServerStopped) {
			// What a socket channel to a stopped server gives.
			s = newRPCState(nil, deadline, hasDeadline)
			s.terminate(nil, StatusCodeUnavailable, "failed to connect to all addresses", nil, nil, err.Error())
			return s, o, md, payload, nil
		}
		return nil, o, md, payload, err
	}
	s = newRPCState(cc, deadline, hasDeadline)
	if clock != nil {
		s.now = clock.Now
		if hasDeadline {
			s.expireOn(clock, deadline)
		}
	}
	return s, o, md, payload, nil
}

// expireOn ends the RPC with DEADLINE_EXCEEDED, as the core would, when
// the test clock reaches deadline (a channel of grpc/testing).
func (s *rpcState) expireOn(clock testhooks.Clock, deadline time.Time) {
	cancel := clock.At(func() {
		s.cc.CancelWithStatus(int(StatusCodeDeadlineExceeded), "Deadline Exceeded")
	}, deadline)
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		cancel()
		return
	}
	s.stopExpiry = cancel
	s.mu.Unlock()
}
