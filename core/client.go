package core

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// ErrChannelClosed is returned when an RPC is started on a closed channel.
var ErrChannelClosed = errors.New("Cannot invoke RPC on closed channel!")

// ErrInprocServerStopped is NewCall on an in-process channel whose server
// is stopping or stopped: the core 1.51's inproc transport crashes
// creating a call to a server that was shut down, so none is created.
var ErrInprocServerStopped = errors.New("the in-process channel's server is stopped")

// ErrCallOver is returned when a batch is started on a call that has ended.
var ErrCallOver = errors.New("the RPC has already terminated")

// The values of grpc_status_code, read from the core's header (package
// cgo): the one copy package grpc's StatusCode members are defined from.
const (
	StatusOK                 = cgo.StatusOK
	StatusCancelled          = cgo.StatusCancelled
	StatusUnknown            = cgo.StatusUnknown
	StatusInvalidArgument    = cgo.StatusInvalidArgument
	StatusDeadlineExceeded   = cgo.StatusDeadlineExceeded
	StatusNotFound           = cgo.StatusNotFound
	StatusAlreadyExists      = cgo.StatusAlreadyExists
	StatusPermissionDenied   = cgo.StatusPermissionDenied
	StatusResourceExhausted  = cgo.StatusResourceExhausted
	StatusFailedPrecondition = cgo.StatusFailedPrecondition
	StatusAborted            = cgo.StatusAborted
	StatusOutOfRange         = cgo.StatusOutOfRange
	StatusUnimplemented      = cgo.StatusUnimplemented
	StatusInternal           = cgo.StatusInternal
	StatusUnavailable        = cgo.StatusUnavailable
	StatusDataLoss           = cgo.StatusDataLoss
	StatusUnauthenticated    = cgo.StatusUnauthenticated
)

// The values of grpc_connectivity_state, from the core's header.
const (
	ConnectivityIdle             = cgo.ConnectivityIdle
	ConnectivityConnecting       = cgo.ConnectivityConnecting
	ConnectivityReady            = cgo.ConnectivityReady
	ConnectivityTransientFailure = cgo.ConnectivityTransientFailure
	ConnectivityShutdown         = cgo.ConnectivityShutdown
)

// Channel owns one grpc_channel and tracks the calls started on it, so that
// Close can end them (grpcio's Channel.close cancels every active RPC).
type Channel struct {
	eng *Engine

	// mu guards the core channel's life: calls into it (create_call,
	// check/watch connectivity) hold it shared, so they run concurrently,
	// and only Close holds it exclusively, to destroy the channel.
	mu     sync.RWMutex
	c      cgo.Channel
	closed bool

	// callsMu guards calls alone, so a poller releasing a call never waits
	// for a goroutine inside the core.
	callsMu sync.Mutex
	calls   map[*ClientCall]struct{}

	inprocTo   *Server // the server of an in-process channel (NewInprocChannel)
	serverGone bool    // inprocTo is shutting down: no call may be created (mu)
}

// NewChannel creates a channel with grpc_channel_create.
func NewChannel(target string, creds cgo.ChannelCredentials, args *cgo.ArgsBuilder) (*Channel, error) {
	e := Default()
	c := cgo.NewChannel(target, creds, args)
	if c.Nil() {
		return nil, errors.New("grpc_channel_create returned NULL for target " + target)
	}
	if i := strings.Index(c.CreateErrors, "errors validating service config"); i >= 0 {
		// The core made a lame channel whose every call would fail with
		// INVALID_ARGUMENT "Failed to create secure client channel".
		c.Destroy()
		msg := strings.TrimSpace(c.CreateErrors[i:])
		if j := strings.IndexByte(msg, '\n'); j >= 0 {
			msg = msg[:j]
		}
		return nil, &ServiceConfigError{Reason: msg}
	}
	return &Channel{eng: e, c: c, calls: make(map[*ClientCall]struct{})}, nil
}

// NewInprocChannel creates a channel to srv over the core's in-process
// transport (grpc_inproc_channel_create): calls go through the whole core
// call stack of both sides but no socket. srv must be started and not
// shutting down.
func NewInprocChannel(srv *Server, args *cgo.ArgsBuilder) (*Channel, error) {
	e := Default()
	srv.mu.Lock()
	defer srv.mu.Unlock() // the server cannot be destroyed meanwhile
	if !srv.started || srv.shuttingDown {
		return nil, errors.New("an in-process channel needs a started server that is not stopping")
	}
	c := cgo.NewInprocChannel(srv.s, args)
	if c.Nil() {
		return nil, errors.New("grpc_inproc_channel_create returned NULL")
	}
	ch := &Channel{eng: e, c: c, calls: make(map[*ClientCall]struct{}), inprocTo: srv}
	if srv.inprocChans == nil {
		srv.inprocChans = make(map[*Channel]struct{})
	}
	srv.inprocChans[ch] = struct{}{}
	return ch, nil
}

// ServiceConfigError is a service config the core rejected when the
// channel was created; Reason is the core's own explanation
// ("errors validating service config: [field:... error:...]").
type ServiceConfigError struct{ Reason string }

func (e *ServiceConfigError) Error() string { return "invalid service config: " + e.Reason }

// Close cancels every active call with CANCELLED "Channel closed!" and
// destroys the channel. Idempotent.
func (ch *Channel) Close() {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.closed = true
	ch.callsMu.Lock()
	calls := make([]*ClientCall, 0, len(ch.calls))
	for cc := range ch.calls {
		calls = append(calls, cc)
	}
	ch.callsMu.Unlock()
	c := ch.c
	ch.mu.Unlock()
	for _, cc := range calls {
		cc.mu.Lock()
		cc.closedByChannel = true
		cc.mu.Unlock()
		cc.CancelWithStatus(StatusCancelled, "Channel closed!")
	}
	// Calls keep their own reference to the core channel, so destroying it
	// now does not strand their completions.
	c.Destroy()
	if ch.inprocTo != nil {
		ch.inprocTo.inprocClosed(ch)
	}
}

// State is grpc_channel_check_connectivity_state.
func (ch *Channel) State(tryToConnect bool) (int, error) {
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	if ch.closed {
		return ConnectivityShutdown, ErrChannelClosed
	}
	return ch.c.CheckState(tryToConnect), nil
}

// NoDeadline is the NewCall timeout meaning no deadline; any other value,
// negative included, is a deadline that far from now.
const NoDeadline = cgo.NoDeadline

// NewCall creates a call on a round-robin queue (grpc_channel_create_call)
// and, if creds is not the zero value, gives it those call credentials
// (grpc_call_set_credentials; the call takes its own reference, the caller
// keeps and releases its own). The call must then be started with exactly
// one of the Start methods below; each releases the call itself if it
// fails.
func (ch *Channel) NewCall(method, host string, timeout time.Duration, creds CallCredentials) (*ClientCall, error) {
	q := ch.eng.pick()
	ch.mu.RLock()
	if ch.closed {
		ch.mu.RUnlock()
		return nil, ErrChannelClosed
	}
	if ch.serverGone {
		ch.mu.RUnlock()
		return nil, ErrInprocServerStopped
	}
	c := ch.c.CreateCall(q.cq, method, host, timeout)
	if c.Nil() {
		ch.mu.RUnlock()
		return nil, errors.New("grpc_channel_create_call returned NULL")
	}
	cc := &ClientCall{ch: ch, c: c, q: q, method: method}
	cc.ops = cc.opsBuf[:0]
	ch.callsMu.Lock() // before RUnlock: Close sees every call it must cancel
	ch.calls[cc] = struct{}{}
	ch.callsMu.Unlock()
	ch.mu.RUnlock()
	if !creds.Nil() {
		if rc := c.SetCredentials(creds); rc != cgo.CallOK {
			cc.abandon()
			return nil, &CallError{Code: rc, Op: "grpc_call_set_credentials"}
		}
	}
	return cc, nil
}

// ClientCall is one client-side grpc_call. Its core reference is dropped
// when the status has been received and no batch is outstanding.
type ClientCall struct {
	ch     *Channel
	q      *queue
	method string

	// startMu serialises grpc_call_start_batch, as the core requires; it is
	// held across the C call but never taken by a poller.
	startMu sync.Mutex
	// mu guards the fields below, briefly: batchDone takes it on the poller.
	mu       sync.Mutex
	c        cgo.Call
	pending  int
	pins     int    // core calls in progress without mu (pin): no release meanwhile
	ops      []*Op  // the batches pending, for checkStrand
	opsBuf   [4]*Op // ops' first backing array: no allocation per RPC
	finished bool
	strand   *time.Timer // armed when the status came with batches pending
	// closedByChannel: Channel.Close cancelled the call. Its status is then
	// CANCELLED "Channel closed!" (grpcio's Channel.close contract) even
	// when the core's own "Channel Destroyed" (UNKNOWN) wins the race with
	// the cancel, as it did for 5 of 15 loaded runs of a bidi RPC started
	// just before Close.
	closedByChannel bool
}

// StrandGrace is how long batches may stay pending after the call's status
// before grpcpy cancels the call, and then again before it gives up on
// them. A correct core completes them at once (they fail or end empty);
// core 1.51 sometimes never does when a server goes away under load
// (grpcio strands the same RPCs), which left a streaming RPC's reader
// blocked forever, past its deadline and Channel.Close.
var StrandGrace = time.Second

// start starts a batch of ops on the call; the returned Op completes when
// the core posts its tag. Starts are serialised, as grpc_call_start_batch
// requires. The batch is counted pending before it is started (so the call
// is not released under it) and uncounted if the start fails. A message
// with a Marshaler (msg) is marshalled into the batch first, without any
// lock held; a failure there is a *MarshalError and starts nothing.
func (cc *ClientCall) start(ops uint32, send *cgo.Send, msg *Payload, after func(*Op)) (*Op, error) {
	o := newOp(cc, cc.q, ops)
	o.after = after
	o.unwaited = after != nil
	b := cgo.NewBatch(o, cgo.TagBatch)
	if err := prepare(b, msg); err != nil {
		b.Free() // and the slice prepared in it
		return nil, err
	}
	cc.startMu.Lock()
	cc.mu.Lock()
	if cc.c.Nil() || cc.finished {
		cc.mu.Unlock()
		cc.startMu.Unlock()
		b.Free()
		return nil, ErrCallOver
	}
	c := cc.c
	cc.pending++
	cc.ops = append(cc.ops, o)
	cc.mu.Unlock()
	var rc int
	cc.q.post(o.unwaited, false, func() bool { rc = c.StartBatch(b, ops, send); return rc == cgo.CallOK })
	cc.startMu.Unlock()
	if rc != cgo.CallOK {
		b.Free()
		cc.mu.Lock()
		cc.pending--
		cc.dropOpLocked(o)
		cc.releaseLocked(cc.finished)
		return nil, &CallError{Code: rc, Op: "grpc_call_start_batch"}
	}
	return o, nil
}

// batchDone runs on the poller when a batch completes.
func (cc *ClientCall) batchDone(o *Op, final bool) {
	cc.mu.Lock()
	cc.pending--
	cc.dropOpLocked(o)
	if final {
		cc.finished = true
		if cc.closedByChannel && o.Status != StatusOK {
			o.Status, o.Details = StatusCancelled, "Channel closed!"
		}
		if cc.pending > 0 && cc.strand == nil {
			cc.strand = time.AfterFunc(StrandGrace, func() { cc.checkStrand(false) })
		}
	}
	if cc.pending == 0 && cc.strand != nil {
		cc.strand.Stop()
		cc.strand = nil
	}
	cc.releaseLocked(cc.finished)
}

func (cc *ClientCall) dropOpLocked(o *Op) {
	for i, p := range cc.ops {
		if p == o {
			cc.ops[i] = cc.ops[len(cc.ops)-1]
			cc.ops[len(cc.ops)-1] = nil
			cc.ops = cc.ops[:len(cc.ops)-1]
			return
		}
	}
}

// checkStrand runs StrandGrace after the status if batches are still
// pending: first it cancels the call (grpc_call_cancel), then, if they are
// still pending a grace later, it gives up on them: their waiters see a
// failed batch, the call's reference is dropped, and their C memory is left
// to the core (counted in cgo.Live.Orphans).
func (cc *ClientCall) checkStrand(cancelled bool) {
	cc.mu.Lock()
	if cc.pending == 0 || cc.c.Nil() {
		cc.mu.Unlock()
		return
	}
	if !cancelled {
		cc.strand = time.AfterFunc(StrandGrace, func() { cc.checkStrand(true) })
		cc.pins++
		c := cc.c
		cc.mu.Unlock()
		c.Cancel()
		cc.unpin()
		return
	}
	ops := cc.ops
	cc.ops = nil
	cc.strand = nil
	cc.mu.Unlock()
	n := 0
	for _, o := range ops {
		if o.orphan() {
			n++
			cc.mu.Lock()
			cc.pending--
			cc.releaseLocked(true)
		}
	}
	if n > 0 {
		logging.For(logging.Channel).Warn("the core did not complete batches of a call after its status; gave up on them",
			"method", cc.method, "batches", n, "grace", 2*StrandGrace)
	}
}

// abandon releases a call with no batch outstanding that will never get a
// status batch (nothing was started, or starting the status batch failed).
func (cc *ClientCall) abandon() {
	cc.mu.Lock()
	cc.finished = true // no status batch will come
	cc.releaseLocked(true)
}

// releaseLocked drops the core reference if ready and nothing is pending
// or pinned, and unlocks cc.mu.
func (cc *ClientCall) releaseLocked(ready bool) {
	c := cc.c
	release := ready && cc.pending == 0 && cc.pins == 0 && !c.Nil()
	if release {
		cc.c = cgo.Call{}
	}
	cc.mu.Unlock()
	if release {
		c.Unref()
		cc.ch.callsMu.Lock()
		delete(cc.ch.calls, cc)
		cc.ch.callsMu.Unlock()
	}
}

// pin returns the core call for a C call made without cc.mu, so that a
// poller's batchDone never waits for it; the call is not released until
// unpin. ok is false once it is released (or, unless afterStatus, once
// its status arrived).
func (cc *ClientCall) pin(afterStatus bool) (c cgo.Call, ok bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.c.Nil() || (cc.finished && !afterStatus) {
		return cgo.Call{}, false
	}
	cc.pins++
	return cc.c, true
}

func (cc *ClientCall) unpin() {
	cc.mu.Lock()
	cc.pins--
	cc.releaseLocked(cc.finished)
}

// Cancel is grpc_call_cancel; false if the call is already over.
func (cc *ClientCall) Cancel() bool {
	c, ok := cc.pin(false)
	if !ok {
		return false
	}
	defer cc.unpin()
	return c.Cancel() == cgo.CallOK
}

// CancelWithStatus is grpc_call_cancel_with_status; false if already over.
func (cc *ClientCall) CancelWithStatus(code int, details string) bool {
	c, ok := cc.pin(false)
	if !ok {
		return false
	}
	defer cc.unpin()
	return c.CancelWithStatus(code, details) == cgo.CallOK
}

// Peer is grpc_call_get_peer, "" once the call is released.
func (cc *ClientCall) Peer() string {
	c, ok := cc.pin(true)
	if !ok {
		return ""
	}
	defer cc.unpin()
	return c.Peer()
}

// Batches of the four client shapes, as grpcio sends them. A streaming
// response also gets a RECV_INITIAL_METADATA batch of its own
// (recvInitialOps) and one RECV_MESSAGE batch per message read.
const (
	// unaryOps is the one batch of a unary-unary RPC.
	unaryOps = cgo.OpSendInitialMetadata | cgo.OpSendMessage | cgo.OpSendCloseFromClient |
		cgo.OpRecvInitialMetadata | cgo.OpRecvMessage | cgo.OpRecvStatusOnClient
	// unaryStreamOps: the request, the half-close and the status.
	unaryStreamOps = cgo.OpSendInitialMetadata | cgo.OpSendMessage | cgo.OpSendCloseFromClient |
		cgo.OpRecvStatusOnClient
	// streamUnaryOps: the response and the status (the initial metadata
	// has a batch of its own); requests are sent one batch each.
	streamUnaryOps = cgo.OpSendInitialMetadata | cgo.OpRecvMessage | cgo.OpRecvStatusOnClient
	// streamStreamOps: the metadata out and the status in.
	streamStreamOps = cgo.OpSendInitialMetadata | cgo.OpRecvStatusOnClient
	// recvInitialOps is the separate initial-metadata batch of streaming responses.
	recvInitialOps = cgo.OpRecvInitialMetadata
)

// initialMetadataFlags returns the SEND_INITIAL_METADATA flags for
// wait_for_ready: nil leaves the channel's default.
func initialMetadataFlags(waitForReady *bool) uint32 {
	if waitForReady == nil {
		return 0
	}
	if *waitForReady {
		return cgo.FlagWaitForReady | cgo.FlagWaitForReadyExplicitlySet
	}
	return cgo.FlagWaitForReadyExplicitlySet
}

// ---- RPC operations: what package grpc drives a client call with ----

// StartUnary starts a unary-unary RPC as grpcio does: one batch that sends
// the metadata, the request and the half-close and receives the initial
// metadata, the response and the status. The Op completes with all of
// them (its Message must be consumed or released); after, if not nil, runs
// on the poller then (it must not block). On failure, a *MarshalError
// included, the call is released.
func (cc *ClientCall) StartUnary(md OutgoingMetadata, waitForReady *bool, request Payload, after func(*Op)) (*Op, error) {
	return cc.startFirst(unaryOps, &cgo.Send{
		Flags: initialMetadataFlags(waitForReady), Metadata: md.buf, MetadataCount: md.n,
		Message: request.Bytes,
	}, &request, after)
}

// StartStreamUnary starts a stream-unary RPC as grpcio does: a
// RECV_INITIAL_METADATA batch of its own, so the initial metadata is known
// as soon as it arrives (onInitial runs on the poller then), and one batch
// that sends the metadata and receives the response and the status (after
// runs on the poller when it completes, with the initial-metadata Op,
// which may still be in flight, beside it). Requests follow with
// SendMessage, then CloseSend. On failure the call is released.
func (cc *ClientCall) StartStreamUnary(md OutgoingMetadata, waitForReady *bool, onInitial func(initial *Op),
	after func(status, initial *Op)) (*Op, error) {
	initial, err := cc.startFirst(recvInitialOps, nil, nil, onInitial)
	if err != nil {
		return nil, err
	}
	status, err := cc.start(streamUnaryOps, &cgo.Send{
		Flags: initialMetadataFlags(waitForReady), Metadata: md.buf, MetadataCount: md.n,
	}, nil, func(o *Op) { after(o, initial) })
	if err != nil {
		// As StartResponseStream: the initial-metadata batch is in flight.
		cc.Cancel()
		go func() {
			initial.Wait()
			cc.abandon()
		}()
		return nil, err
	}
	return status, nil
}

// StartResponseStream starts an RPC whose responses are a stream: with
// hasRequest, unary-stream (the request and the half-close go with the
// metadata); without, stream-stream (requests follow with SendMessage and
// CloseSend). The initial metadata is received by a batch of its own, so
// it is known before the first response; onInitial runs on the poller
// when it arrives, onStatus when the status does, with the
// initial-metadata Op (which may still be in flight) beside it. Responses
// are read with RecvMessage. On failure, a *MarshalError of the request
// included, the call is released.
func (cc *ClientCall) StartResponseStream(md OutgoingMetadata, waitForReady *bool, request Payload, hasRequest bool,
	onInitial func(initial *Op), onStatus func(status, initial *Op)) (status *Op, err error) {
	initial, err := cc.startFirst(recvInitialOps, nil, nil, onInitial)
	if err != nil {
		return nil, err
	}
	ops := uint32(streamStreamOps)
	send := &cgo.Send{Flags: initialMetadataFlags(waitForReady), Metadata: md.buf, MetadataCount: md.n}
	var msg *Payload
	if hasRequest {
		ops = unaryStreamOps
		send.Message, msg = request.Bytes, &request
	}
	status, err = cc.start(ops, send, msg, func(o *Op) { onStatus(o, initial) })
	if err != nil {
		// The initial-metadata batch is in flight: cancel so it completes,
		// then drop the call (no status batch will ever release it).
		cc.Cancel()
		go func() {
			initial.Wait()
			cc.abandon()
		}()
		return nil, err
	}
	return status, nil
}

// startFirst starts the first batch of a call; if it cannot start, no
// status batch ever will, so the call is released.
func (cc *ClientCall) startFirst(ops uint32, send *cgo.Send, msg *Payload, after func(*Op)) (*Op, error) {
	o, err := cc.start(ops, send, msg, after)
	if err != nil {
		cc.abandon()
	}
	return o, err
}

// SendMessage sends one request (SEND_MESSAGE). The core allows one send
// in flight per call: wait for the Op before the next. ErrCallOver once
// the call has ended; a *MarshalError if the payload's Marshaler failed
// (nothing was sent, the call goes on).
func (cc *ClientCall) SendMessage(payload Payload) (*Op, error) {
	return cc.start(cgo.OpSendMessage, &cgo.Send{Message: payload.Bytes}, &payload, nil)
}

// CloseSend half-closes the call (SEND_CLOSE_FROM_CLIENT).
func (cc *ClientCall) CloseSend() (*Op, error) {
	return cc.start(cgo.OpSendCloseFromClient, nil, nil, nil)
}

// RecvMessage reads the next response (RECV_MESSAGE): the Op has
// HasMessage false at the end of the stream or once the call failed; a
// message is the caller's to consume or release (Results.Message).
// ErrCallOver once the status has arrived: no message can follow it.
func (cc *ClientCall) RecvMessage() (*Op, error) {
	return cc.start(cgo.OpRecvMessage, nil, nil, nil)
}

// Args are core channel args (grpc_channel_args) in flat form.
type Args = cgo.ArgsBuilder

// ChannelCredentials are core channel credentials; the zero value is insecure.
type ChannelCredentials = cgo.ChannelCredentials

// CoreVersion is grpc_version_string().
func CoreVersion() string { cgo.Init(); return cgo.VersionString() }

// GStandsFor is grpc_g_stands_for().
func GStandsFor() string { cgo.Init(); return cgo.GStandsFor() }

type watchTag struct{ f func(ok bool) }

func (w *watchTag) Complete(ev cgo.Event) { w.f(ev.Success) }

// Watch is grpc_channel_watch_connectivity_state from state last with no
// deadline: onChange runs on the poller when the state differs from last
// (ok true) or the watch ends otherwise. Core watches cannot be
// cancelled; destroying the channel completes them.
func (ch *Channel) Watch(last int, onChange func(ok bool)) error {
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	if ch.closed {
		return ErrChannelClosed
	}
	q := ch.eng.pick()
	q.post(true, false, func() bool {
		ch.c.Watch(last, cgo.NoDeadline, q.cq, cgo.NewBatch(&watchTag{onChange}, cgo.TagConnectivity))
		return true
	})
	return nil
}

// LinkInfo says how the C core was linked into this binary.
const LinkInfo = cgo.LinkInfo

// Compression algorithms and the keys that select them (see cgo).
const (
	CompressNone          = cgo.CompressNone
	CompressDeflate       = cgo.CompressDeflate
	CompressGzip          = cgo.CompressGzip
	CompressionRequestKey = cgo.CompressionRequestKey
	CompressionDefaultArg = cgo.CompressionDefaultArg
	CompressionEnabledArg = cgo.CompressionEnabledArg
)

// CompressionName is grpc_compression_algorithm_name.
func CompressionName(algorithm int) string { return cgo.CompressionName(algorithm) }
