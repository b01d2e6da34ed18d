package core

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

// SlotsPerCQ is how many grpc_server_request_call tags a started server
// keeps posted on each queue. grpcio keeps one, which serialises accepts
// through one thread; C# kept 2000 and grpc-rs 1024.
var SlotsPerCQ = 128

// RegisteredSlotsPerCQ is the same for each registered method
// (grpc_server_request_registered_call).
var RegisteredSlotsPerCQ = 32

// Server owns one grpc_server: its ports, the request-call slots on every
// engine queue, and the shutdown sequence (shutdown_and_notify, then
// destroy once the shutdown tag, every slot and every call are back).
type Server struct {
	eng    *Engine
	onCall func(*ServerCall)

	mu           sync.Mutex
	s            cgo.Server
	started      bool
	shuttingDown bool
	shutdownSeen bool
	destroyed    bool
	slots        int
	calls        int
	stopped      chan struct{}
	onDestroy    []func()
	registered   map[string]cgo.RegisteredMethod
	burst        burstWatch // memory release after a burst (memory.go)
	// inprocChans are the open in-process channels to this server: the core's
	// inproc transport dereferences the grpc_server when a call is created
	// (a destroyed one crashed the process), so grpc_server_destroy waits
	// for the last of them to close (destroyPending).
	inprocChans    map[*Channel]struct{}
	destroyPending bool
}

// NewServer creates a grpc_server with the given channel args and
// registers every engine queue. onCall receives each new call on a poller
// goroutine and must hand it off without blocking.
func NewServer(args *cgo.ArgsBuilder, onCall func(*ServerCall)) (*Server, error) {
	e := Default()
	s := cgo.NewServer(args)
	if s.Nil() {
		return nil, errors.New("grpc_server_create returned NULL")
	}
	return newServer(e, s, onCall), nil
}

// ErrNoXdsBootstrap: the core could not create the xDS config fetcher.
var ErrNoXdsBootstrap = errors.New("xDS server: the core could not start xDS " +
	"(set GRPC_XDS_BOOTSTRAP to a bootstrap file or GRPC_XDS_BOOTSTRAP_CONFIG to its JSON; the core's log says why)")

// NewXdsServer is NewServer for grpcio's grpc.server(xds=True): the
// core's xDS config fetcher drives the listeners (ports added with xDS
// server credentials follow the control plane's Listener resources).
// onStatus, if not nil, receives serving-status updates on a core thread
// and must only hand off.
func NewXdsServer(args *cgo.ArgsBuilder, onCall func(*ServerCall), onStatus cgo.XdsServingStatus) (*Server, error) {
	e := Default()
	s, release := cgo.NewXdsServer(args, onStatus)
	if s.Nil() {
		return nil, ErrNoXdsBootstrap
	}
	srv := newServer(e, s, onCall)
	srv.onDestroy = append(srv.onDestroy, release)
	return srv, nil
}

func newServer(e *Engine, s cgo.Server, onCall func(*ServerCall)) *Server {
	srv := &Server{eng: e, s: s, onCall: onCall, stopped: make(chan struct{}),
		burst: burstWatch{BurstRelease: DefaultBurstRelease}}
	for _, q := range e.CQs() {
		s.RegisterCQ(q)
	}
	return srv
}

// ErrServerStarted is returned for operations only allowed before Start.
var ErrServerStarted = errors.New("server already started")

// ErrServerStopped is returned for operations on a stopped server.
var ErrServerStopped = errors.New("server is stopped")

// AddInsecurePort binds addr without TLS; it returns the bound port.
func (srv *Server) AddInsecurePort(addr string) (int, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown {
		return 0, ErrServerStopped
	}
	if srv.started {
		return 0, ErrServerStarted
	}
	port := srv.s.AddInsecurePort(addr)
	if port == 0 {
		return 0, fmt.Errorf("Failed to bind to address %s; set GRPC_VERBOSITY=debug environment variable to see detailed error message.", addr)
	}
	return port, nil
}

// RegisterMethod registers a method whose calls arrive with their first
// message already read (GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER): one
// completion instead of two for a unary request. Only for methods whose
// client sends at least one message before expecting anything back
// (unary-request methods): the call is not reported until it arrives.
// Before Start only.
func (srv *Server) RegisterMethod(method string) error {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.started || srv.shuttingDown {
		return ErrServerStarted
	}
	if _, ok := srv.registered[method]; ok {
		return nil
	}
	rm, ok := srv.s.RegisterMethod(method)
	if !ok {
		return fmt.Errorf("grpc_server_register_method failed for %s", method)
	}
	if srv.registered == nil {
		srv.registered = map[string]cgo.RegisteredMethod{}
	}
	srv.registered[method] = rm
	return nil
}

// Start is grpc_server_start followed by posting the request-call slots.
func (srv *Server) Start() error {
	srv.mu.Lock()
	if srv.shuttingDown {
		srv.mu.Unlock()
		return ErrServerStopped
	}
	if srv.started {
		srv.mu.Unlock()
		return ErrServerStarted
	}
	srv.started = true
	srv.s.Start()
	var slots []*requestSlot
	for _, q := range srv.eng.qs {
		for range SlotsPerCQ {
			slots = append(slots, &requestSlot{srv: srv, q: q})
		}
		for name, rm := range srv.registered {
			for range RegisteredSlotsPerCQ {
				slots = append(slots, &requestSlot{srv: srv, q: q, method: name, rm: rm, registered: true})
			}
		}
	}
	srv.slots += len(slots) // counted before posting (see post)
	srv.mu.Unlock()
	for _, r := range slots {
		srv.post(r, false)
	}
	return nil
}

// requestSlot is one posted request-call tag: for any method, or for one
// registered method.
type requestSlot struct {
	srv        *Server
	q          *queue
	method     string
	rm         cgo.RegisteredMethod
	registered bool
}

// post posts a request-call tag for a slot already counted in srv.slots
// (the count keeps the server from being destroyed under the post); it
// uncounts it if the core refuses. It makes the C call without srv.mu, so
// the replenishing poller does not hold the lock every call's end needs.
// fromHolder: the caller is the queue's token holder (engine.go, post).
func (srv *Server) post(r *requestSlot, fromHolder bool) {
	ok := r.q.post(true, fromHolder, func() bool {
		var rc int
		if r.registered {
			b := cgo.NewBatch(r, cgo.TagRequestRegistered)
			if rc = srv.s.RequestRegisteredCall(r.rm, r.q.cq, b); rc != cgo.CallOK {
				b.Free()
			}
		} else {
			b := cgo.NewBatch(r, cgo.TagRequestCall)
			if rc = srv.s.RequestCall(r.q.cq, b); rc != cgo.CallOK {
				b.Free()
			}
		}
		return rc == cgo.CallOK
	})
	if !ok {
		srv.mu.Lock()
		srv.slots--
		destroy := srv.maybeDestroyLocked()
		srv.mu.Unlock()
		if destroy {
			srv.destroy()
		}
	}
}

// Complete handles a request-call tag: a new call, or (success false) a
// slot returned by shutdown.
func (r *requestSlot) Complete(ev cgo.Event) {
	srv := r.srv
	srv.mu.Lock()
	srv.slots--
	if !ev.Success {
		destroy := srv.maybeDestroyLocked()
		srv.mu.Unlock()
		if destroy {
			srv.destroy()
		}
		return
	}
	b := ev.Batch
	sc := &ServerCall{
		srv:      srv,
		q:        r.q,
		c:        b.NewCall(),
		Metadata: b.InitialMetadata(),
		closed:   make(chan struct{}),
	}
	if r.registered {
		sc.Method = r.method
		sc.preread = b.TakeMessage() // still in core memory: RecvMessage or Finish releases it
		sc.hasPreread.Store(b.HasMessage())
	} else {
		sc.Method, sc.Host = b.Method(), b.Host()
	}
	sc.Deadline, sc.HasDeadline = b.Deadline()
	srv.calls++
	srv.callStartedLocked()
	replenish := !srv.shuttingDown
	if replenish {
		srv.slots++ // counted now: the server is not destroyed under the post
	}
	srv.mu.Unlock()
	if replenish {
		srv.post(r, true) // replenish the slot this call used (on the holder)
	}
	srv.onCall(sc)
}

type shutdownTag struct{ srv *Server }

func (t *shutdownTag) Complete(cgo.Event) {
	t.srv.mu.Lock()
	t.srv.shutdownSeen = true
	destroy := t.srv.maybeDestroyLocked()
	t.srv.mu.Unlock()
	if destroy {
		t.srv.destroy()
	}
}

// maybeDestroyLocked marks the server destroyed once it is shut down and
// every slot and call is back, and reports whether it did: the caller then
// calls destroy after releasing srv.mu, so grpc_server_destroy and the
// onDestroy hooks never run under the lock.
func (srv *Server) maybeDestroyLocked() bool {
	if srv.destroyed || !srv.shutdownSeen || srv.slots > 0 || srv.calls > 0 {
		return false
	}
	srv.destroyed = true
	srv.stopBurstLocked()
	return true
}

// destroy is grpc_server_destroy, then the onDestroy hooks; it closes
// Stopped. Only after maybeDestroyLocked returned true, without srv.mu.
func (srv *Server) destroy() {
	srv.mu.Lock()
	wait := len(srv.inprocChans) > 0
	srv.destroyPending = wait
	srv.mu.Unlock()
	if !wait {
		srv.destroyCore()
	}
	close(srv.stopped)
}

// destroyCore is grpc_server_destroy, then the onDestroy hooks.
func (srv *Server) destroyCore() {
	srv.s.Destroy()
	for _, f := range srv.onDestroy {
		f()
	}
}

// inprocClosed is called once per in-process channel to srv, after the
// channel is destroyed; the last one destroys a server waiting for it.
func (srv *Server) inprocClosed(ch *Channel) {
	srv.mu.Lock()
	delete(srv.inprocChans, ch)
	now := len(srv.inprocChans) == 0 && srv.destroyPending
	if now {
		srv.destroyPending = false
	}
	srv.mu.Unlock()
	if now {
		srv.destroyCore()
	}
}

// Shutdown is grpc_server_shutdown_and_notify: no new calls are accepted;
// calls in flight go on. Idempotent.
func (srv *Server) Shutdown() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown {
		return
	}
	srv.shuttingDown = true
	for ch := range srv.inprocChans {
		ch.mu.Lock()
		ch.serverGone = true
		ch.mu.Unlock()
	}
	q := srv.eng.pick()
	q.post(true, false, func() bool {
		srv.s.ShutdownAndNotify(q.cq, cgo.NewBatch(&shutdownTag{srv}, cgo.TagShutdown))
		return true
	})
}

// CancelAll is grpc_server_cancel_all_calls; only after Shutdown.
func (srv *Server) CancelAll() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.shuttingDown && !srv.destroyed {
		srv.s.CancelAllCalls()
	}
}

// Stopped is closed once the server is destroyed: shut down, every slot
// returned and every call finished.
func (srv *Server) Stopped() <-chan struct{} { return srv.stopped }

// ShuttingDown reports whether Shutdown was called.
func (srv *Server) ShuttingDown() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.shuttingDown
}

func (srv *Server) callDone() {
	srv.mu.Lock()
	srv.calls--
	srv.callEndedLocked()
	destroy := srv.maybeDestroyLocked()
	srv.mu.Unlock()
	if destroy {
		srv.destroy()
	}
}

// ServerCall is one server-side grpc_call. Its owner (the handler
// goroutine) must call Finish exactly once.
type ServerCall struct {
	srv *Server
	q   *queue

	Method      string
	Host        string
	Metadata    []Metadatum
	Deadline    time.Time
	HasDeadline bool

	// preread is a registered method's first message, read with the call
	// and left in core memory; whoever turns hasPreread from true to false
	// owns it: RecvMessage (hands it over in an Op) or Finish (releases it
	// unread: a rejected call, a handler that never read it).
	preread    Received
	hasPreread atomic.Bool // read without mu: most RecvMessage calls find it false

	// startMu serialises grpc_call_start_batch (held across the C call,
	// never taken by a poller); mu guards the fields below, briefly.
	startMu      sync.Mutex
	mu           sync.Mutex
	c            cgo.Call
	pending      int // batches started and not completed
	pins         int // core calls in progress without mu (pin): no release meanwhile
	closed       chan struct{}
	initialSent  bool // SEND_INITIAL_METADATA started (alone or with a message or the status)
	statusSent   bool
	closeStarted bool // RECV_CLOSE_ON_SERVER is in flight or done
	ownerDone    bool // Finish was called
	finished     bool // the core reference is dropped
	// autoInitial is the metadata of the SEND_INITIAL_METADATA added to the
	// first response or the status when none was sent (SetInitialMetadata).
	autoInitial OutgoingMetadata
	// noCompress: the next SEND_MESSAGE goes with GRPC_WRITE_NO_COMPRESS.
	noCompress bool
}

// batchDone runs on the poller. The last batch to complete after Finish
// releases the call, so the handler goroutine never waits for it.
func (sc *ServerCall) batchDone(*Op, bool) {
	sc.mu.Lock()
	sc.pending--
	sc.releaseLocked()
}

// releaseLocked drops the call once its owner is done and nothing is
// pending or pinned, and unlocks sc.mu.
func (sc *ServerCall) releaseLocked() {
	release := sc.ownerDone && sc.pending == 0 && sc.pins == 0 && !sc.finished
	c := sc.takeLocked(release)
	sc.mu.Unlock()
	if release {
		sc.release(c)
	}
}

// pin returns the core call for a C call made without sc.mu (so a
// poller's batchDone never waits for it); the call is not released until
// unpin. ok is false once it is released.
func (sc *ServerCall) pin() (c cgo.Call, ok bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.finished {
		return cgo.Call{}, false
	}
	sc.pins++
	return sc.c, true
}

func (sc *ServerCall) unpin() {
	sc.mu.Lock()
	sc.pins--
	sc.releaseLocked()
}

func (sc *ServerCall) takeLocked(release bool) cgo.Call {
	if !release {
		return cgo.Call{}
	}
	sc.finished = true
	c := sc.c
	sc.c = cgo.Call{}
	return c
}

func (sc *ServerCall) release(c cgo.Call) {
	c.Unref()
	sc.srv.callDone()
}

// What startBatch checks and decides under sc.mu, so that two goroutines
// (a handler and its response iterator, say) never both send the initial
// metadata or the status.
const (
	onceClose     = 1 << iota // RECV_CLOSE_ON_SERVER at most once: errCloseStarted
	closeIfNeed               // add RECV_CLOSE_ON_SERVER unless already started
	initialIfNeed             // add SEND_INITIAL_METADATA unless already sent
	onceInitial               // SEND_INITIAL_METADATA only if not sent, nor the status: ErrInitialMetadataSent
	onceStatus                // SEND_STATUS_FROM_SERVER at most once: ErrStatusSent
)

// ErrInitialMetadataSent: the initial metadata was already sent (by
// SendInitialMetadata, with the first response, or with the status).
var ErrInitialMetadataSent = errors.New("initial metadata already sent")

// ErrStatusSent: the status was already sent.
var ErrStatusSent = errors.New("status already sent")

// startBatch counts the batch pending before starting it (so the call is
// not released under it) and uncounts it if the start fails; the C call is
// made holding startMu only, so the poller's batchDone never waits for it.
// A message with a Marshaler (msg) is marshalled into the batch after mu
// is released, under startMu only (never a lock a poller takes); a failure
// there is a *MarshalError, undone as a failed start: nothing is started
// or left marked sent.
func (sc *ServerCall) startBatch(ops uint32, send *cgo.Send, msg *Payload, after func(*Op), rules int) (*Op, error) {
	sc.startMu.Lock()
	defer sc.startMu.Unlock()
	sc.mu.Lock()
	switch {
	case rules&onceClose != 0 && sc.closeStarted:
		sc.mu.Unlock()
		return nil, errCloseStarted
	case sc.finished:
		sc.mu.Unlock()
		return nil, ErrCallOver
	case rules&onceStatus != 0 && sc.statusSent:
		sc.mu.Unlock()
		return nil, ErrStatusSent
	case rules&onceInitial != 0 && (sc.initialSent || sc.statusSent):
		sc.mu.Unlock()
		return nil, ErrInitialMetadataSent
	}
	// Only the send ops touch send; receive-only batches (RecvMessage,
	// WatchClose) pass nil and allocate nothing.
	if rules&initialIfNeed != 0 && !sc.initialSent {
		if send == nil {
			send = &cgo.Send{}
		}
		ops |= cgo.OpSendInitialMetadata
		send.Metadata, send.MetadataCount = sc.autoInitial.buf, sc.autoInitial.n
	}
	if rules&closeIfNeed != 0 && !sc.closeStarted {
		ops |= cgo.OpRecvCloseOnServer
	}
	noCompress := sc.noCompress && ops&cgo.OpSendMessage != 0
	if noCompress {
		send.MessageFlags |= cgo.FlagWriteNoCompress // SEND_MESSAGE: send is set
		sc.noCompress = false
	}
	// The Op is complete (its ops included) before NewBatch publishes it
	// through its handle: the holder that delivers it reads them.
	o := newOp(sc, sc.q, ops)
	o.after = after
	o.unwaited = after != nil
	b := cgo.NewBatch(o, cgo.TagBatch)
	c := sc.c
	sc.pending++
	saved := [3]bool{sc.initialSent, sc.statusSent, sc.closeStarted}
	sc.initialSent = sc.initialSent || ops&cgo.OpSendInitialMetadata != 0
	sc.statusSent = sc.statusSent || ops&cgo.OpSendStatusFromServer != 0
	sc.closeStarted = sc.closeStarted || ops&cgo.OpRecvCloseOnServer != 0
	sc.mu.Unlock()
	undo := func(err error) (*Op, error) {
		b.Free() // and a message prepared in it
		sc.mu.Lock()
		sc.initialSent, sc.statusSent, sc.closeStarted = saved[0], saved[1], saved[2]
		sc.noCompress = sc.noCompress || noCompress
		sc.mu.Unlock()
		sc.batchDone(o, false) // uncount it; releases the call if it was the last
		return nil, err
	}
	if err := prepare(b, msg); err != nil {
		return undo(err)
	}
	var rc int
	if !sc.q.post(o.unwaited, false, func() bool { rc = c.StartBatch(b, ops, send); return rc == cgo.CallOK }) {
		return undo(&CallError{Code: rc, Op: "grpc_call_start_batch"})
	}
	return o, nil
}

// ---- RPC operations: what package grpc drives a server call with ----

// closedDone is the done channel of Ops complete from the start (a
// pre-read request): no channel made and closed per RPC.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// RecvMessage reads the next request (RECV_MESSAGE): the Op has HasMessage
// false once the client half-closed or the call failed; a message is the
// caller's to consume or release (Results.Message). A registered method's
// first message came with the call: the first RecvMessage returns it in
// an Op already complete.
func (sc *ServerCall) RecvMessage() (*Op, error) {
	if sc.hasPreread.Load() && sc.hasPreread.CompareAndSwap(true, false) {
		o := &Op{done: closedDone, q: sc.q, ops: cgo.OpRecvMessage}
		o.Success, o.HasMessage, o.Message = true, true, sc.preread
		sc.preread = Received{} // the Op owns it now
		o.state.Store(opDone)
		return o, nil
	}
	return sc.startBatch(cgo.OpRecvMessage, nil, nil, nil, 0)
}

// SetInitialMetadata sets the metadata of the SEND_INITIAL_METADATA that
// SendMessage and SendStatus add when none was sent yet (empty by
// default): grpcio's per-call compression request travels there.
func (sc *ServerCall) SetInitialMetadata(md OutgoingMetadata) {
	sc.mu.Lock()
	sc.autoInitial = md
	sc.mu.Unlock()
}

// DisableNextCompression sends the next message (SendMessage, or the
// response of SendStatus) with GRPC_WRITE_NO_COMPRESS: uncompressed
// whatever the call's algorithm.
func (sc *ServerCall) DisableNextCompression() {
	sc.mu.Lock()
	sc.noCompress = true
	sc.mu.Unlock()
}

// SendInitialMetadata sends the initial metadata now
// (SEND_INITIAL_METADATA); ErrInitialMetadataSent if it already went, or
// the status did.
func (sc *ServerCall) SendInitialMetadata(md OutgoingMetadata) (*Op, error) {
	return sc.startBatch(cgo.OpSendInitialMetadata, &cgo.Send{Metadata: md.buf, MetadataCount: md.n}, nil, nil, onceInitial)
}

// SendMessage sends one response (SEND_MESSAGE), with empty initial
// metadata first if none was sent yet. Wait for the Op before the next. A
// *MarshalError if the payload's Marshaler failed: nothing was sent.
func (sc *ServerCall) SendMessage(payload Payload) (*Op, error) {
	return sc.startBatch(cgo.OpSendMessage, &cgo.Send{Message: payload.Bytes}, &payload, nil, initialIfNeed)
}

// SendStatus starts the call's last batch: SEND_STATUS_FROM_SERVER with
// the trailing metadata, the response before it if hasResponse, and the
// initial metadata if not yet sent. Nobody waits for it: the call is
// released when it completes (after Finish). RECV_CLOSE_ON_SERVER goes in
// the same batch unless WatchClose started it already (one completion
// instead of two for a handler that never watched the end of its call);
// onClose is then called as for WatchClose. ErrStatusSent if a status was
// sent already; a *MarshalError if the response's Marshaler failed, and
// then nothing was sent (the status may be sent again, without it).
func (sc *ServerCall) SendStatus(code int, details string, trailing OutgoingMetadata, response Payload, hasResponse bool,
	onClose func(cancelled bool)) error {
	ops := uint32(cgo.OpSendStatusFromServer)
	var msg *Payload
	if hasResponse {
		ops |= cgo.OpSendMessage
		msg = &response
	}
	send := &cgo.Send{Message: response.Bytes, Status: code, Details: details, Trailing: trailing.buf, TrailingCount: trailing.n}
	// One start whether or not WatchClose took RECV_CLOSE_ON_SERVER (decided
	// under mu), so the response is marshalled once; closeDone's hook sees
	// which from the batch's ops.
	_, err := sc.startBatch(ops, send, msg, sc.closeDone(onClose), closeIfNeed|onceStatus|initialIfNeed)
	return err
}

// WatchClose starts RECV_CLOSE_ON_SERVER alone (with RECV_MESSAGE in the
// same batch it would only complete when the call ends). onClose runs on
// the poller when the call is over, with cancelled true if it did not end
// with a status sent by this server. It does nothing if
// RECV_CLOSE_ON_SERVER was already started (here or by SendStatus).
func (sc *ServerCall) WatchClose(onClose func(cancelled bool)) error {
	_, err := sc.startBatch(cgo.OpRecvCloseOnServer, nil, nil, sc.closeDone(onClose), onceClose)
	if err == errCloseStarted {
		return nil
	}
	return err
}

var errCloseStarted = errors.New("RECV_CLOSE_ON_SERVER already started")

// closeDone is the hook of a batch that may carry RECV_CLOSE_ON_SERVER: it
// reports the end of the call if this batch did (SendStatus's batch does
// only when WatchClose had not started it).
func (sc *ServerCall) closeDone(onClose func(bool)) func(*Op) {
	return func(o *Op) {
		if o.ops&cgo.OpRecvCloseOnServer == 0 {
			return
		}
		close(sc.closed)
		onClose(o.Cancelled)
	}
}

// Closed is closed when RECV_CLOSE_ON_SERVER has completed.
func (sc *ServerCall) Closed() <-chan struct{} { return sc.closed }

// Cancel is grpc_call_cancel.
func (sc *ServerCall) Cancel() bool {
	c, ok := sc.pin()
	if !ok {
		return false
	}
	defer sc.unpin()
	return c.Cancel() == cgo.CallOK
}

// Peer is grpc_call_get_peer.
func (sc *ServerCall) Peer() string {
	c, ok := sc.pin()
	if !ok {
		return ""
	}
	defer sc.unpin()
	return c.Peer()
}

// AuthContext is grpc_call_auth_context, read into Go.
func (sc *ServerCall) AuthContext() (props []cgo.AuthProperty, identityName string, authenticated, ok bool) {
	c, pinned := sc.pin()
	if !pinned {
		return nil, "", false, false
	}
	defer sc.unpin()
	return c.AuthContext()
}

// Reject answers a call without running a handler: one batch of
// SEND_INITIAL_METADATA, RECV_CLOSE_ON_SERVER and SEND_STATUS_FROM_SERVER,
// as grpcio does for unknown methods.
func (sc *ServerCall) Reject(code int, details string) {
	o, err := sc.startBatch(cgo.OpRecvCloseOnServer|cgo.OpSendStatusFromServer,
		&cgo.Send{Status: code, Details: details}, nil, nil, onceClose|onceStatus|initialIfNeed)
	if err == nil {
		o.Wait()
	}
}

// Finish is called once by the call's owner when it is done with the
// call: it releases a pre-read request nobody read, if no status was sent
// it cancels the call (else RECV_CLOSE_ON_SERVER would wait for the
// client), and the core reference is dropped when the last outstanding
// batch completes (at once if none).
func (sc *ServerCall) Finish() {
	if sc.hasPreread.Load() && sc.hasPreread.CompareAndSwap(true, false) {
		sc.preread.Release()
	}
	sc.mu.Lock()
	if sc.ownerDone {
		sc.mu.Unlock()
		return
	}
	if !sc.statusSent && !sc.finished {
		// Cancelled without sc.mu (pinned), before ownerDone allows the release.
		sc.pins++
		c := sc.c
		sc.mu.Unlock()
		c.Cancel()
		sc.mu.Lock()
		sc.pins--
	}
	sc.ownerDone = true
	sc.releaseLocked()
}
