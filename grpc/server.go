package grpc

import (
	"fmt"
	"iter"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc/internal/testhooks"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// NoGrace is Python's stop(None): Stop(NoGrace) aborts every RPC at once
// and blocks until the last handler has returned. Any negative grace means
// the same.
const NoGrace time.Duration = -1

// Server mirrors grpc.Server: "Services RPCs." Create it with NewServer.
type Server struct {
	core     *core.Server
	executor Executor
	limit    int64
	active   atomic.Int64

	interceptors []ServerInterceptor

	mu         sync.Mutex
	handlers   []GenericRpcHandler
	started    bool
	stopping   bool
	graceTimer *time.Timer
	graceEnd   time.Time

	clock testhooks.Clock // grpc/testing's Time; nil: real time
}

func init() {
	testhooks.SetServerClock = func(server any, c testhooks.Clock) { server.(*Server).clock = c }
}

// testDeadline takes the deadline a channel with a test clock sent
// (testhooks.DeadlineKey) out of md, for a server with a clock (whose
// calls carry no core deadline).
func testDeadline(md Metadata) (Metadata, time.Time, bool) {
	for i, m := range md {
		if m.Key != testhooks.DeadlineKey {
			continue
		}
		rest := append(append(Metadata(nil), md[:i]...), md[i+1:]...)
		ns, err := strconv.ParseInt(m.Value, 10, 64)
		if err != nil {
			return rest, time.Time{}, false
		}
		return rest, time.Unix(0, ns), true
	}
	return md, time.Time{}, false
}

// ServerOption is a keyword argument of grpc.server(): handlers,
// interceptors, options, maximum_concurrent_rpcs.
type ServerOption func(*serverOptions)

type serverOptions struct {
	interceptors  []ServerInterceptor
	handlers      []GenericRpcHandler
	options       []ChannelOption
	maxConcurrent int
	burstRelease  *BurstMemoryRelease
	xds           bool
	xdsStatus     func(XdsServingStatus)
}

// WithHandlers is the handlers= keyword: GenericRpcHandlers consulted in
// order for each new RPC.
func WithHandlers(handlers ...GenericRpcHandler) ServerOption {
	return func(o *serverOptions) { o.handlers = append(o.handlers, handlers...) }
}

// WithOptions is the options= keyword: channel args for the server
// (grpc_server_create), passed to the core unchanged.
func WithOptions(options ...ChannelOption) ServerOption {
	return func(o *serverOptions) { o.options = append(o.options, options...) }
}

// WithMaximumConcurrentRpcs is the maximum_concurrent_rpcs= keyword: past n
// RPCs in progress, new ones are answered RESOURCE_EXHAUSTED. 0 (Python's
// None) means no limit.
func WithMaximumConcurrentRpcs(n int) ServerOption {
	return func(o *serverOptions) { o.maxConcurrent = n }
}

// NewServer mirrors grpc.server(thread_pool, handlers=None,
// interceptors=None, options=None, maximum_concurrent_rpcs=None). threadPool
// runs the handlers; nil runs each RPC on its own goroutine (Go's natural
// pool). Drives grpc_server_create and grpc_server_register_completion_queue.
// A server holds core objects until Stop: nothing frees it on garbage
// collection (grpcpy uses no finalizers), so stop every server.
func NewServer(threadPool Executor, opts ...ServerOption) (*Server, error) {
	var o serverOptions
	for _, f := range opts {
		f(&o)
	}
	if e, ok := threadPool.(*ThreadPoolExecutor); ok && e != nil && e.err != nil {
		return nil, e.err
	}
	if o.maxConcurrent < 0 {
		return nil, &ValueError{Msg: fmt.Sprintf("maximum_concurrent_rpcs must be positive, got %d", o.maxConcurrent)}
	}
	args, err := buildArgs(o.options)
	if err != nil {
		return nil, err
	}
	s := &Server{executor: threadPool, limit: int64(o.maxConcurrent), handlers: o.handlers,
		interceptors: o.interceptors}
	cs, err := newCoreServer(args, &o, s.dispatch)
	if err != nil {
		return nil, err
	}
	if r := o.burstRelease; r != nil {
		b := core.DefaultBurstRelease
		b.MinPeak, b.Go = max(r.MinPeak, 0), core.GoReleaseNone
		if r.GoHeap {
			b.Go = core.GoReleaseFree
		}
		cs.SetBurstRelease(b)
	}
	s.core = cs
	return s, nil
}

// AddGenericRpcHandlers mirrors add_generic_rpc_handlers(generic_rpc_handlers):
// registers more handlers; only before Start.
func (s *Server) AddGenericRpcHandlers(handlers ...GenericRpcHandler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return ErrServerStopped
	}
	if s.started {
		return ErrServerStarted
	}
	s.handlers = append(s.handlers, handlers...)
	return nil
}

// AddInsecurePort mirrors add_insecure_port(address): opens a port without
// TLS and returns the port number; with port 0 the runtime picks one.
// Only before Start. A bind failure is an error naming the address
// (grpc_server_add_http2_port returned 0).
func (s *Server) AddInsecurePort(address string) (int, error) {
	if err := checkAddress(address); err != nil {
		return 0, err
	}
	port, err := s.core.AddInsecurePort(address)
	return port, mapServerErr(err)
}

// Start mirrors start(): begins serving (grpc_server_start). It may only be
// called once; a second call returns ErrServerStarted, and a call after
// Stop returns ErrServerStopped (a stopped server cannot serve again).
func (s *Server) Start() error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return ErrServerStopped
	}
	if s.started {
		s.mu.Unlock()
		return ErrServerStarted
	}
	s.started = true
	handlers := s.handlers
	s.mu.Unlock()
	// Unary-request methods of known services are registered with the
	// core, so their calls arrive with the request already read (one
	// completion fewer per RPC). Others go through the generic slots.
	for _, h := range handlers {
		if d, ok := h.(*dictionaryGenericHandler); ok {
			for name, mh := range d.handlers {
				if mh != nil && !mh.RequestStreaming {
					if err := s.core.RegisterMethod(name); err != nil {
						return err
					}
				}
			}
		}
	}
	return mapServerErr(s.core.Start())
}

// checkAddress refuses what the core would misread: a NUL, and the
// "external:" prefix, which the core 1.51 takes for an external
// connection acceptor this server never set up (it dereferences NULL in
// Chttp2ServerAddPort).
func checkAddress(address string) error {
	if err := checkNoNUL("address", address); err != nil {
		return err
	}
	if strings.HasPrefix(address, "external:") {
		return &ValueError{Msg: fmt.Sprintf("address %q: the external: scheme is not supported", address)}
	}
	return nil
}

func mapServerErr(err error) error {
	switch err {
	case core.ErrServerStarted:
		return ErrServerStarted
	case core.ErrServerStopped:
		return ErrServerStopped
	}
	return err
}

// Stop mirrors stop(grace): new RPCs are refused at once in all cases
// (grpc_server_shutdown_and_notify). With a grace (>= 0) it returns at once
// and RPCs still active when the grace ends are aborted
// (grpc_server_cancel_all_calls); with NoGrace it aborts them now and
// blocks until the last handler has returned. Idempotent; a later call
// with a shorter grace stops sooner, a longer one does not delay. The
// Event is set when the server has completely stopped.
func (s *Server) Stop(grace time.Duration) *Event {
	s.mu.Lock()
	s.stopping = true
	s.core.Shutdown()
	if grace <= 0 {
		if s.graceTimer != nil {
			s.graceTimer.Stop()
		}
		s.graceEnd = time.Now()
		s.mu.Unlock()
		s.core.CancelAll()
	} else {
		end := time.Now().Add(grace)
		if s.graceEnd.IsZero() || end.Before(s.graceEnd) {
			s.graceEnd = end
			if s.graceTimer != nil {
				s.graceTimer.Stop()
			}
			s.graceTimer = time.AfterFunc(grace, s.core.CancelAll)
		}
		s.mu.Unlock()
	}
	ev := &Event{done: s.core.Stopped()}
	if grace < 0 {
		ev.Wait()
	}
	return ev
}

// WaitForTermination mirrors wait_for_termination(timeout=None) (added to
// grpcio after 1.18): blocks until the server has stopped, or at most the
// optional timeout. It reports whether the server stopped.
func (s *Server) WaitForTermination(timeout ...time.Duration) bool {
	return waitDone(s.core.Stopped(), timeout)
}

// Event mirrors the threading.Event returned by stop().
type Event struct{ done <-chan struct{} }

// IsSet mirrors is_set().
func (e *Event) IsSet() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Wait mirrors wait(timeout=None): blocks until the event is set, or at
// most the optional timeout; reports whether it is set.
func (e *Event) Wait(timeout ...time.Duration) bool { return waitDone(e.done, timeout) }

// Done is closed when the event is set.
func (e *Event) Done() <-chan struct{} { return e.done }

// dispatch runs on a poller for each new call: enforce
// maximum_concurrent_rpcs, then hand the call to the executor.
func (s *Server) dispatch(sc *core.ServerCall) {
	if s.limit > 0 && s.active.Add(1) > s.limit {
		go s.reject(sc, StatusCodeResourceExhausted, "Concurrent RPC limit exceeded!")
		return
	}
	run := func() { s.handle(sc, s.release) }
	if s.executor == nil {
		go run()
		return
	}
	if pool, ok := s.executor.(*ThreadPoolExecutor); ok {
		// Ours never blocks in Submit: it may run on the poller.
		if err := pool.Submit(run); err != nil {
			go s.reject(sc, StatusCodeUnavailable, "Server's thread pool is shut down")
		}
		return
	}
	// Any other Executor is user code, which may block: never on a poller.
	go func() {
		if err := s.executor.Submit(run); err != nil {
			s.reject(sc, StatusCodeUnavailable, "Server's thread pool is shut down")
		}
	}()
}

// reject answers a call without a handler and gives back its slot.
func (s *Server) reject(sc *core.ServerCall, code StatusCode, details string) {
	sc.Reject(int(code), details)
	sc.Finish()
	s.release()
}

// release gives back a maximum_concurrent_rpcs slot taken in dispatch.
func (s *Server) release() {
	if s.limit > 0 {
		s.active.Add(-1)
	}
}

// lookup runs the server interceptors, in order, around the generic
// handlers' lookup. A panic in either is reported, as grpcio does, as
// UNKNOWN "Error in service handler!".
func (s *Server) lookup(d *HandlerCallDetails) (h *RpcMethodHandler, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
			logging.For(logging.Server).Error("Exception servicing handler", "method", d.Method, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	s.mu.Lock()
	handlers := s.handlers
	s.mu.Unlock()
	next := func(d *HandlerCallDetails) *RpcMethodHandler {
		for _, g := range handlers {
			if h := g.Service(d); h != nil {
				return h
			}
		}
		return nil
	}
	for i := len(s.interceptors) - 1; i >= 0; i-- {
		ic, inner := s.interceptors[i], next
		next = func(d *HandlerCallDetails) *RpcMethodHandler { return ic.InterceptService(inner, d) }
	}
	return next(d), nil
}

// handle serves one RPC on its own goroutine (or executor worker) and
// calls done when the RPC is over. A handler with an ExperimentalThreadPool
// continues there; a non-blocking response stream continues on a goroutine
// of its own.
func (s *Server) handle(sc *core.ServerCall, done func()) {
	md := fromCoreMetadata(sc.Metadata)
	dl := deadline{sc.Deadline, sc.HasDeadline, nil}
	if s.clock != nil {
		md, dl.at, dl.has = testDeadline(md)
		dl.now = s.clock.Now
	}
	details := &HandlerCallDetails{Method: sc.Method, InvocationMetadata: md}
	h, err := s.lookup(details)
	switch {
	case err != nil:
		sc.Reject(int(StatusCodeUnknown), "Error in service handler!")
	case h == nil:
		sc.Reject(int(StatusCodeUnimplemented), "Method not found!")
	case h.ExperimentalThreadPool != nil && h.ExperimentalThreadPool != s.executor:
		if err := h.ExperimentalThreadPool.Submit(func() { s.serve(sc, md, dl, h, done) }); err == nil {
			return
		}
		sc.Reject(int(StatusCodeUnavailable), "Server's thread pool is shut down")
	default:
		s.serve(sc, md, dl, h, done)
		return
	}
	sc.Finish()
	done()
}

// serve runs handler h for the RPC and calls done when it is over.
func (s *Server) serve(sc *core.ServerCall, md Metadata, dl deadline, h *RpcMethodHandler, done func()) {
	enc, dec := h.responseEncoder(), h.requestDecoder()
	detached := false
	defer func() {
		if !detached {
			sc.Finish()
			done()
		}
	}()
	// stream drains a response iterator: here, or with
	// ExperimentalNonBlocking on a goroutine of its own.
	stream := func(ctx *ServicerContext, seq iter.Seq2[any, error]) {
		if !h.ExperimentalNonBlocking {
			ctx.streamResponses(seq, enc)
			return
		}
		detached = true
		go func() {
			defer done()
			defer sc.Finish()
			ctx.streamResponses(seq, enc)
		}()
	}
	ctx := newServicerContext(sc, md, dl)
	if h.RequestStreaming || h.ResponseStreaming {
		ctx.watch() // streams notice a cancel through RECV_CLOSE_ON_SERVER
	}
	switch {
	case !h.RequestStreaming && !h.ResponseStreaming && h.UnaryUnary != nil:
		req, ok := ctx.recvRequest(sc.Method, dec)
		if !ok {
			return
		}
		if resp, ok := ctx.callBehavior(func() (any, error) { return h.UnaryUnary(req, ctx) }); ok {
			ctx.finishUnaryResponse(enc, resp)
		}
	case !h.RequestStreaming && h.ResponseStreaming && h.UnaryStream != nil:
		req, ok := ctx.recvRequest(sc.Method, dec)
		if !ok {
			return
		}
		if seq, ok := ctx.callStreamBehavior(func() iter.Seq2[any, error] { return h.UnaryStream(req, ctx) }); ok {
			stream(ctx, seq)
		}
	case h.RequestStreaming && !h.ResponseStreaming && h.StreamUnary != nil:
		requests := ctx.requests(dec)
		if resp, ok := ctx.callBehavior(func() (any, error) { return h.StreamUnary(requests, ctx) }); ok {
			ctx.finishUnaryResponse(enc, resp)
		}
	case h.RequestStreaming && h.ResponseStreaming && h.StreamStream != nil:
		requests := ctx.requests(dec)
		if seq, ok := ctx.callStreamBehavior(func() iter.Seq2[any, error] { return h.StreamStream(requests, ctx) }); ok {
			stream(ctx, seq)
		}
	default:
		// The streaming flags select a behavior that is nil.
		ctx.abort(StatusCodeUnimplemented, "Method not found!")
	}
}
