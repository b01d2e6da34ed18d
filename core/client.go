package core

import (
	"errors"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// ErrChannelClosed is returned when an RPC is started on a closed channel.
var ErrChannelClosed = errors.New("Cannot invoke RPC on closed channel!")

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
}

// NewChannel creates a channel with grpc_channel_create.
func NewChannel(target string, creds cgo.ChannelCredentials, args *cgo.ArgsBuilder) (*Channel, error) {
	e := Default()
	c := cgo.NewChannel(target, creds, args)
	if c.Nil() {
		return nil, errors.New("grpc_channel_create returned NULL for target " + target)
	}
	return &Channel{eng: e, c: c, calls: make(map[*ClientCall]struct{})}, nil
}

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
		cc.CancelWithStatus(StatusCancelled, "Channel closed!")
	}
	// Calls keep their own reference to the core channel, so destroying it
	// now does not strand their completions.
	c.Destroy()
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

// NewCall creates a call on a round-robin queue.
func (ch *Channel) NewCall(method, host string, timeout time.Duration) (*ClientCall, error) {
	q := ch.eng.pick()
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	if ch.closed {
		return nil, ErrChannelClosed
	}
	c := ch.c.CreateCall(q.cq, method, host, timeout)
	if c.Nil() {
		return nil, errors.New("grpc_channel_create_call returned NULL")
	}
	cc := &ClientCall{ch: ch, c: c, q: q, method: method}
	cc.ops = cc.opsBuf[:0]
	ch.callsMu.Lock() // before RUnlock: Close sees every call it must cancel
	ch.calls[cc] = struct{}{}
	ch.callsMu.Unlock()
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
}

// StrandGrace is how long batches may stay pending after the call's status
// before grpcpy cancels the call, and then again before it gives up on
// them. A correct core completes them at once (they fail or end empty);
// core 1.51 sometimes never does when a server goes away under load
// (grpcio strands the same RPCs), which left a streaming RPC's reader
// blocked forever, past its deadline and Channel.Close.
var StrandGrace = time.Second

// Start starts a batch of ops on the call; the returned Op completes when
// the core posts its tag. Starts are serialised, as grpc_call_start_batch
// requires. The batch is counted pending before it is started (so the call
// is not released under it) and uncounted if the start fails.
func (cc *ClientCall) Start(ops uint32, send *cgo.Send, after func(*Op)) (*Op, error) {
	o := newOp(cc, cc.q, ops)
	o.after = after
	o.unwaited = after != nil
	b := cgo.NewBatch(o, cgo.TagBatch)
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

// Abandon releases a call with no batch outstanding that will never get a
// status batch (nothing was started, or starting the status batch failed).
func (cc *ClientCall) Abandon() {
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
// response also gets a RECV_INITIAL_METADATA batch of its own (RecvInitial)
// and one RECV_MESSAGE batch per message read.
const (
	// UnaryStreamOps: the request, the half-close and the status.
	UnaryStreamOps = cgo.OpSendInitialMetadata | cgo.OpSendMessage | cgo.OpSendCloseFromClient |
		cgo.OpRecvStatusOnClient
	// StreamUnaryOps: everything received; requests are sent one batch each.
	StreamUnaryOps = cgo.OpSendInitialMetadata | cgo.OpRecvInitialMetadata | cgo.OpRecvMessage |
		cgo.OpRecvStatusOnClient
	// StreamStreamOps: the metadata out and the status in.
	StreamStreamOps = cgo.OpSendInitialMetadata | cgo.OpRecvStatusOnClient
	// RecvInitial is the separate initial-metadata batch of streaming responses.
	RecvInitial = cgo.OpRecvInitialMetadata
)

// UnaryOps is the one batch of a client unary-unary RPC, as grpcio sends it.
const UnaryOps = cgo.OpSendInitialMetadata | cgo.OpSendMessage | cgo.OpSendCloseFromClient |
	cgo.OpRecvInitialMetadata | cgo.OpRecvMessage | cgo.OpRecvStatusOnClient

// InitialMetadataFlags returns the SEND_INITIAL_METADATA flags for
// wait_for_ready: nil leaves the channel's default.
func InitialMetadataFlags(waitForReady *bool) uint32 {
	if waitForReady == nil {
		return 0
	}
	if *waitForReady {
		return cgo.FlagWaitForReady | cgo.FlagWaitForReadyExplicitlySet
	}
	return cgo.FlagWaitForReadyExplicitlySet
}

// Args are core channel args (grpc_channel_args) in flat form.
type Args = cgo.ArgsBuilder

// ChannelCredentials are core channel credentials; the zero value is insecure.
type ChannelCredentials = cgo.ChannelCredentials

// CoreVersion is grpc_version_string().
func CoreVersion() string { cgo.Init(); return cgo.VersionString() }

// GStandsFor is grpc_g_stands_for().
func GStandsFor() string { cgo.Init(); return cgo.GStandsFor() }

// Send describes the send side of a batch (see cgo.Send).
type Send = cgo.Send

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
