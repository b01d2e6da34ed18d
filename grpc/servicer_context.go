package grpc

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// ServicerContext mirrors grpc.ServicerContext: "A context object passed to
// method implementations." It is also an RpcContext. Its methods are safe
// for concurrent use.
type ServicerContext struct {
	call     *core.ServerCall
	metadata Metadata

	deadline deadline

	mu         sync.Mutex
	code       StatusCode
	codeSet    bool
	details    string
	detailsSet bool
	trailing   core.OutgoingMetadata
	statused   bool
	closed     bool
	cancelled  bool
	callbacks  []func()
	rpcErrors  []*RpcError // raised by the library into the handler
	ctx        context.Context
	ctxCancel  context.CancelFunc

	compression    Compression // SetCompression
	hasCompression bool

	watchOnce sync.Once // starts RECV_CLOSE_ON_SERVER when something needs it
}

// watch makes sure RECV_CLOSE_ON_SERVER is in flight, so the end of the
// call (cancel, deadline) is noticed. Unary-unary handlers that never ask
// get it folded into their final batch instead: one completion fewer.
func (c *ServicerContext) watch() {
	c.watchOnce.Do(func() {
		if err := c.call.WatchClose(c.onClose); err != nil {
			c.mu.Lock()
			c.closed = true // the call is over already
			c.mu.Unlock()
		}
	})
}

// abortSignal is the panic value of Abort: grpcio's abort "always" raises.
// It names the context aborted, which a handler holding another RPC's
// context could pass.
type abortSignal struct{ ctx *ServicerContext }

// deadline is an RPC's deadline as its servicer sees it: the core's, or,
// on a server with a test clock (grpc/testing), the one its channel sent,
// read against that clock.
type deadline struct {
	at  time.Time
	has bool
	now func() time.Time // nil: time.Now
}

func newServicerContext(sc *core.ServerCall, md Metadata, dl deadline) *ServicerContext {
	return &ServicerContext{call: sc, metadata: md, deadline: dl}
}

// onClose runs on the poller when RECV_CLOSE_ON_SERVER completes.
func (c *ServicerContext) onClose(cancelled bool) {
	c.mu.Lock()
	c.closed = true
	c.cancelled = cancelled
	cbs := c.callbacks
	c.callbacks = nil
	cancel := c.ctxCancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if len(cbs) > 0 {
		go func() { // user code: off the poller
			for _, cb := range cbs {
				logging.Guard(logging.Server, "Exception calling callback!", cb)
			}
		}()
	}
}

// IsActive mirrors grpc.RpcContext.is_active(): false once the client
// cancelled, the deadline passed or the status was sent.
func (c *ServicerContext) IsActive() bool {
	c.watch()
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && !c.statused
}

// TimeRemaining mirrors grpc.RpcContext.time_remaining(): time left before
// the client's deadline, never negative; ok false when there is none.
func (c *ServicerContext) TimeRemaining() (time.Duration, bool) {
	if c.deadline.now != nil {
		return timeRemainingAt(c.deadline.now(), c.deadline.at, c.deadline.has)
	}
	return timeRemaining(c.deadline.at, c.deadline.has)
}

// Cancel mirrors grpc.RpcContext.cancel(): cancels the RPC (grpc_call_cancel);
// the client sees CANCELLED.
func (c *ServicerContext) Cancel() bool { return c.call.Cancel() }

// AddCallback mirrors grpc.RpcContext.add_callback(callback): callback runs
// when the RPC terminates; false if it already has.
func (c *ServicerContext) AddCallback(callback func()) bool {
	c.watch()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.callbacks = append(c.callbacks, callback)
	return true
}

// Context returns a context.Context that is done when the RPC terminates
// (client cancel, deadline, status sent) and carries the RPC's deadline
// (a Go addition, for passing to downstream calls).
func (c *ServicerContext) Context() context.Context {
	c.watch()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		inner, cancel := context.WithCancel(context.Background())
		now := c.deadline.now
		if now == nil {
			now = time.Now
		}
		c.ctx, c.ctxCancel = &rpcContext{inner, c.deadline.at, c.deadline.has, now}, cancel
		if c.closed {
			c.ctxCancel()
		}
	}
	return c.ctx
}

// rpcContext is done exactly when the core reports the RPC terminated
// (RECV_CLOSE_ON_SERVER), not on a Go timer of its own that could fire
// before the core expires the call; it reports the RPC's deadline.
type rpcContext struct {
	context.Context
	deadline    time.Time
	hasDeadline bool
	now         func() time.Time
}

func (c *rpcContext) Deadline() (time.Time, bool) { return c.deadline, c.hasDeadline }

func (c *rpcContext) Err() error {
	err := c.Context.Err()
	if err != nil && c.hasDeadline && !c.now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return err
}

// InvocationMetadata mirrors invocation_metadata(): the metadata sent by
// the client.
func (c *ServicerContext) InvocationMetadata() Metadata { return c.metadata }

// Peer mirrors peer(): the peer's address as the core reports it
// (grpc_call_get_peer), e.g. "ipv4:127.0.0.1:53422".
func (c *ServicerContext) Peer() string { return c.call.Peer() }

// AuthContext mirrors auth_context(): every property of the call's
// grpc_auth_context, name to values (raw bytes in Go strings).
func (c *ServicerContext) AuthContext() map[string][]string {
	props, _, _, ok := c.call.AuthContext()
	if !ok {
		return map[string][]string{}
	}
	out := make(map[string][]string)
	for _, p := range props {
		out[p.Name] = append(out[p.Name], p.Value)
	}
	return out
}

// PeerIdentityKey mirrors peer_identity_key(): the auth property naming
// the peer's identity (e.g. "x509_common_name"), "" (Python's None) if the
// call is not authenticated.
func (c *ServicerContext) PeerIdentityKey() string {
	_, id, auth, ok := c.call.AuthContext()
	if !ok || !auth {
		return ""
	}
	return id
}

// PeerIdentities mirrors peer_identities(): the values of the identity
// property, nil (Python's None) if the call is not authenticated.
func (c *ServicerContext) PeerIdentities() []string {
	props, id, auth, ok := c.call.AuthContext()
	if !ok || !auth || id == "" {
		return nil
	}
	var out []string
	for _, p := range props {
		if p.Name == id {
			out = append(out, p.Value)
		}
	}
	return out
}

// SendInitialMetadata mirrors send_initial_metadata(initial_metadata):
// sends the initial metadata now (SEND_INITIAL_METADATA). A second call, or
// one after the response started, is a *ValueError ("Initial metadata no
// longer allowed!"), as is invalid metadata.
func (c *ServicerContext) SendInitialMetadata(initialMetadata Metadata) error {
	c.mu.Lock()
	compression, hasCompression := c.compression, c.hasCompression
	c.mu.Unlock()
	if hasCompression {
		// grpcio's _get_initial_metadata: the compression request goes
		// with whatever initial metadata is sent.
		initialMetadata = append(append(Metadata(nil), initialMetadata...), compression.metadatum())
	}
	md, err := checkMetadata(initialMetadata)
	if err != nil {
		return err
	}
	c.mu.Lock()
	statused := c.statused
	c.mu.Unlock()
	if statused {
		return &ValueError{Msg: "Initial metadata no longer allowed!"}
	}
	op, err := c.call.SendInitialMetadata(md)
	if errors.Is(err, core.ErrInitialMetadataSent) {
		return &ValueError{Msg: "Initial metadata no longer allowed!"}
	}
	if err != nil {
		return c.raise(newRpcError(StatusCodeCancelled, "RPC terminated before initial metadata was sent", nil, nil, err.Error()))
	}
	op.Wait()
	if !op.Success {
		return c.raise(newRpcError(StatusCodeCancelled, "RPC terminated before initial metadata was sent", nil, nil, ""))
	}
	return nil
}

// SetCompression mirrors set_compression(compression) (grpcio 1.23 and
// later): the responses of this RPC are compressed with compression. As
// in grpcio it rides on the initial metadata (grpc-internal-encoding-request),
// so it takes effect only if set before the initial metadata is sent.
// An unknown algorithm is a *ValueError.
func (c *ServicerContext) SetCompression(compression Compression) error {
	if err := compression.check(); err != nil {
		return err
	}
	md, err := checkMetadata(Metadata{compression.metadatum()})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.compression, c.hasCompression = compression, true
	c.mu.Unlock()
	c.call.SetInitialMetadata(md)
	return nil
}

// DisableNextMessageCompression mirrors disable_next_message_compression():
// the next response message goes uncompressed (GRPC_WRITE_NO_COMPRESS on
// its SEND_MESSAGE), whatever the RPC's compression.
func (c *ServicerContext) DisableNextMessageCompression() {
	c.call.DisableNextCompression()
}

// raise records an RpcError the library hands the handler (the RPC was
// cancelled under it), as grpcio's state.rpc_errors: a handler that passes
// it back up has done nothing wrong, so it is not logged as an exception
// calling the application.
func (c *ServicerContext) raise(e *RpcError) *RpcError {
	c.mu.Lock()
	c.rpcErrors = append(c.rpcErrors, e)
	c.mu.Unlock()
	return e
}

// raisedHere reports whether err is (or wraps) an RpcError from raise.
func (c *ServicerContext) raisedHere(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.rpcErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// SetTrailingMetadata mirrors set_trailing_metadata(trailing_metadata): the
// metadata sent with the status. Invalid metadata is a *ValueError.
func (c *ServicerContext) SetTrailingMetadata(trailingMetadata Metadata) error {
	md, err := checkMetadata(trailingMetadata)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.trailing = md
	c.mu.Unlock()
	return nil
}

// SetCode mirrors set_code(code): the status code sent when the RPC ends.
func (c *ServicerContext) SetCode(code StatusCode) {
	c.mu.Lock()
	c.code, c.codeSet = code, true
	c.mu.Unlock()
}

// SetDetails mirrors set_details(details): the status message sent when
// the RPC ends.
func (c *ServicerContext) SetDetails(details string) {
	c.mu.Lock()
	c.details, c.detailsSet = details, true
	c.mu.Unlock()
}

// Abort mirrors abort(code, details): ends the RPC with a non-OK status
// and never returns. Like Python's raise it unwinds the handler (a panic
// the server recovers). The code and details supersede any set before.
// StatusCodeOK is refused: the RPC ends with UNKNOWN and details saying
// why. Called on a goroutine other than a handler's, where no recover
// would catch the panic, it sends the status at once, logs an ERROR and
// ends the calling goroutine (runtime.Goexit), as an exception raised on
// another Python thread ends only that thread.
func (c *ServicerContext) Abort(code StatusCode, details string) {
	if code == StatusCodeOK {
		logging.For(logging.Server).Error("abort() called with StatusCode.OK; returning UNKNOWN")
		code, details = StatusCodeUnknown, "abort() called with StatusCode.OK, which is not an error; returning UNKNOWN"
	}
	c.mu.Lock()
	c.code, c.codeSet = code, true
	c.details, c.detailsSet = details, true
	c.mu.Unlock()
	if onHandlerGoroutine() {
		panic(abortSignal{c})
	}
	logging.For(logging.Server).Error("abort() called outside a handler's goroutine: the RPC ends now and the calling goroutine exits",
		"method", c.call.Method, "code", code.String(), "stack", string(debug.Stack()))
	c.abort(code, details)
	runtime.Goexit()
}

// The functions that run user code of a handler under a recover.
const (
	callBehaviorFunc    = "github.com/grpcpy/grpcpy/grpc.(*ServicerContext).callBehavior"
	streamResponsesFunc = "github.com/grpcpy/grpcpy/grpc.(*ServicerContext).streamResponses"
)

// onHandlerGoroutine reports whether a recover of the server's is on the
// calling goroutine's stack. Only Abort asks, so its cost (a stack walk)
// is not paid by RPCs that do not abort.
func onHandlerGoroutine() bool {
	pcs := make([]uintptr, 64)
	for skip := 2; ; skip += len(pcs) {
		n := runtime.Callers(skip, pcs)
		frames := runtime.CallersFrames(pcs[:n])
		for {
			f, more := frames.Next()
			if strings.HasPrefix(f.Function, callBehaviorFunc) || strings.HasPrefix(f.Function, streamResponsesFunc) {
				return true
			}
			if !more {
				break
			}
		}
		if n < len(pcs) {
			return false
		}
	}
}

// AbortWithStatus mirrors abort_with_status(status): like Abort, and the
// status's trailing metadata supersedes any set before.
func (c *ServicerContext) AbortWithStatus(status Status) {
	if md, err := checkMetadata(status.TrailingMetadata); err == nil {
		c.mu.Lock()
		c.trailing = md
		c.mu.Unlock()
	} else {
		logging.For(logging.Server).Error("abort_with_status() with invalid trailing metadata", "error", err)
	}
	c.Abort(status.Code, status.Details)
}

// ---- the server's side of the RPC ----

// sendStatus ends the RPC (core.ServerCall.SendStatus: the status, with
// the response if any and the initial metadata if not yet sent). With
// abort, a code set by the handler wins over code, as in grpcio's _abort.
// A response that fails to marshal into core memory (protobuf's default,
// marshalled only now) ends the RPC as finishUnaryResponse does for a
// serializer's failure: nothing was sent, so the status goes alone.
func (c *ServicerContext) sendStatus(payload core.Payload, hasPayload bool, code StatusCode, details string, abort bool) {
	c.mu.Lock()
	if c.statused {
		c.mu.Unlock()
		return
	}
	c.statused = true
	code, details = c.statusLocked(code, details, abort)
	trailing := c.trailing
	c.mu.Unlock()
	// Not waited for: the call is released when its last batch completes.
	err := c.call.SendStatus(int(code), details, trailing, payload, hasPayload, c.onClose)
	if cause, failed := marshalFailed(err); failed {
		logging.For(logging.Server).Error("failed to serialize response", "error", cause)
		c.mu.Lock()
		code, details = c.statusLocked(StatusCodeInternal, "Failed to serialize response!", true)
		c.mu.Unlock()
		c.call.SendStatus(int(code), details, trailing, core.Payload{}, false, c.onClose)
	}
}

// statusLocked is the status sendStatus sends for code and details: the
// code and details the handler set win (always with abort, as grpcio's
// _abort; else over OK and no details).
func (c *ServicerContext) statusLocked(code StatusCode, details string, abort bool) (StatusCode, string) {
	if abort {
		if c.codeSet {
			code = c.code
		}
		if c.detailsSet {
			details = c.details
		}
	} else {
		code, details = StatusCodeOK, ""
		if c.codeSet {
			code = c.code
		}
		if c.detailsSet {
			details = c.details
		}
	}
	return code, details
}

func (c *ServicerContext) abort(code StatusCode, details string) {
	c.sendStatus(core.Payload{}, false, code, details, true)
}

// recvRequest reads the single request of a unary-request method.
func (c *ServicerContext) recvRequest(method string, des decoder) (any, bool) {
	op, err := c.call.RecvMessage() // complete at once for registered methods: read with the call
	if err != nil {
		c.abort(StatusCodeInternal, "Failed to receive request: "+err.Error())
		return nil, false
	}
	op.Wait()
	if !op.HasMessage {
		c.abort(StatusCodeUnimplemented, fmt.Sprintf("%q requires exactly one request message.", method))
		return nil, false
	}
	req, err := decode(des, &op.Message)
	if err != nil {
		logging.For(logging.Server).Error("exception deserializing request", "method", method, "error", err)
		c.abort(StatusCodeInternal, "Exception deserializing request!")
		return nil, false
	}
	return req, true
}

// abortForPanic ends the RPC for a recovered panic: Abort's own unwinding
// keeps the status Abort set; any other panic is UNKNOWN
// "<what>: <value>", as grpcio reports a raised exception.
func (c *ServicerContext) abortForPanic(r any, what string) {
	if sig, aborted := r.(abortSignal); aborted {
		if sig.ctx != c {
			// The handler aborted another RPC's context: that RPC ends
			// with the status it was given, this one as an exception.
			sig.ctx.abort(StatusCodeUnknown, "RPC Aborted")
			details := fmt.Sprintf("%s: abort() called on the context of another RPC (%s)", what, sig.ctx.call.Method)
			logging.For(logging.Server).Error(details)
			c.abort(StatusCodeUnknown, details)
			return
		}
		c.abort(StatusCodeUnknown, "RPC Aborted")
		return
	}
	details := fmt.Sprintf("%s: %v", what, r)
	logging.For(logging.Server).Error(details, "stack", string(debug.Stack()))
	c.abort(StatusCodeUnknown, details)
}

// callBehavior runs user code, mapping an error, a panic or an Abort to
// the status grpcio gives a raised exception.
func (c *ServicerContext) callBehavior(f func() (any, error)) (resp any, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
			c.abortForPanic(r, "Exception calling application")
		}
	}()
	resp, err := f()
	if err != nil {
		details := "Exception calling application: " + err.Error()
		if !c.raisedHere(err) {
			logging.For(logging.Server).Error(details)
		}
		c.abort(StatusCodeUnknown, details)
		return nil, false
	}
	return resp, true
}

// finishUnaryResponse serialises the response and sends it with the status.
func (c *ServicerContext) finishUnaryResponse(ser encoder, resp any) {
	payload, err := serialize(ser, resp)
	if err != nil {
		logging.For(logging.Server).Error("failed to serialize response", "error", err)
		c.abort(StatusCodeInternal, "Failed to serialize response!")
		return
	}
	c.sendStatus(payload, true, StatusCodeOK, "", false)
}

// requests is the request iterator of a streaming-request method: one
// RECV_MESSAGE batch per value. It ends at the client's half-close; if the
// RPC is cancelled it yields an *RpcError (grpcio raises RpcError).
func (c *ServicerContext) requests(des decoder) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for {
			op, err := c.call.RecvMessage()
			if err == nil {
				op.Wait()
			}
			if err != nil || !op.HasMessage {
				c.mu.Lock()
				cancelled := c.closed && c.cancelled
				c.mu.Unlock()
				if err != nil || !op.Success || cancelled {
					yield(nil, c.raise(newRpcError(StatusCodeCancelled, "RPC cancelled while reading requests", nil, nil, "")))
				}
				return
			}
			req, err := decode(des, &op.Message)
			if err != nil {
				logging.For(logging.Server).Error("exception deserializing request", "method", c.call.Method, "error", err)
				c.abort(StatusCodeInternal, "Exception deserializing request!")
				yield(nil, c.raise(newRpcError(StatusCodeInternal, "Exception deserializing request!", nil, nil, "")))
				return
			}
			if !yield(req, nil) {
				return
			}
		}
	}
}

// sendMessage sends one response (with the initial metadata if not yet
// sent) and waits for the send to complete before the response iterator
// resumes: the back-pressure of grpcio's _send_response, and what a
// handler that acts after a yield (cancels, logs) relies on. False if the
// RPC is over; a response that fails to marshal into core memory ends it
// as a serializer's failure does.
func (c *ServicerContext) sendMessage(payload core.Payload) bool {
	c.mu.Lock()
	if c.statused {
		c.mu.Unlock()
		return false
	}
	c.mu.Unlock()
	op, err := c.call.SendMessage(payload)
	if cause, failed := marshalFailed(err); failed {
		logging.For(logging.Server).Error("failed to serialize response", "error", cause)
		c.abort(StatusCodeInternal, "Failed to serialize response!")
		return false
	}
	if err != nil {
		return false
	}
	return op.Wait().Success
}

// streamResponses drains a response iterator to the client, then sends the
// status. An error or panic while iterating ends the RPC as grpcio does:
// UNKNOWN "Exception iterating responses: ...".
func (c *ServicerContext) streamResponses(responses iter.Seq2[any, error], ser encoder) {
	ok := func() (ok bool) {
		defer func() {
			if r := recover(); r != nil {
				ok = false
				c.abortForPanic(r, "Exception iterating responses")
			}
		}()
		if responses == nil {
			return true
		}
		for resp, err := range responses {
			if err != nil {
				details := "Exception iterating responses: " + err.Error()
				if !c.raisedHere(err) {
					logging.For(logging.Server).Error(details)
				}
				c.abort(StatusCodeUnknown, details)
				return false
			}
			payload, err := serialize(ser, resp)
			if err != nil {
				logging.For(logging.Server).Error("failed to serialize response", "error", err)
				c.abort(StatusCodeInternal, "Failed to serialize response!")
				return false
			}
			if !c.sendMessage(payload) {
				return false // the client is gone; Finish cancels the call
			}
		}
		return true
	}()
	if ok {
		c.sendStatus(core.Payload{}, false, StatusCodeOK, "", false)
	}
}

// callStreamBehavior runs a behavior that returns a response iterator,
// mapping a panic in the call itself as callBehavior does.
func (c *ServicerContext) callStreamBehavior(f func() iter.Seq2[any, error]) (seq iter.Seq2[any, error], ok bool) {
	_, ok = c.callBehavior(func() (any, error) {
		seq = f()
		return nil, nil
	})
	return seq, ok
}
