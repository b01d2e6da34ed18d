package core

import (
	"fmt"
	"sync/atomic"

	"github.com/grpcpy/grpcpy/cgo"
)

// Metadatum is one metadata entry (key, value); "-bin" values are raw bytes.
type Metadatum = cgo.Metadatum

// Results are what one operation received (see cgo.Results).
type Results = cgo.Results

// Received is a received message still in the core's memory (Results.Message,
// cgo.Received): the goroutine that consumes it reads it once, with Bytes
// (a Go copy of its own) or View (in place), or drops it with Release.
// Every Op with RECV_MESSAGE and a message must be consumed or released.
type Received = cgo.Received

// Marshaler marshals a message straight into core memory (cgo.Marshaler):
// Size, then MarshalAppend into a core slice of exactly that size.
type Marshaler = cgo.Marshaler

// Payload is one message to send, what grpcio's SendMessageOperation takes
// (the serialized bytes): Bytes, copied into a core slice when its batch
// starts (grpc_slice_from_copied_buffer; the caller may reuse them once
// the start returns), or,
// when Marshaler is set, Message marshalled by it straight into a core
// slice the batch owns (cgo.Batch.PrepareMessage): no Go allocation of the
// payload and no copy. The marshalling runs on the caller's goroutine,
// never under a lock a poller takes (a client call: before any lock; a
// server call: under startMu only); its failure is a *MarshalError and
// nothing is started.
type Payload struct {
	Bytes     []byte
	Marshaler Marshaler
	Message   any
}

// MarshalError is a Payload's Marshaler failing (or panicking): the batch
// was not started (no grpc_call_start_batch). Package grpc reports it as
// grpcio reports a serializer that fails (_common.serialize returning
// None): INTERNAL "Exception serializing request!" or "Failed to
// serialize response!".
type MarshalError struct{ Err error }

func (e *MarshalError) Error() string { return "marshalling the message failed: " + e.Err.Error() }

func (e *MarshalError) Unwrap() error { return e.Err }

// prepare marshals p into b when it has a Marshaler (else the start copies
// send.Message): a failure or a panic of the Marshaler is a *MarshalError,
// and b, which owns whatever was prepared, is the caller's to free.
func prepare(b cgo.Batch, p *Payload) (err error) {
	if p == nil || p.Marshaler == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = &MarshalError{Err: fmt.Errorf("marshaler panicked: %v", r)}
		}
	}()
	if e := b.PrepareMessage(p.Marshaler, p.Message); e != nil {
		return &MarshalError{Err: e}
	}
	return nil
}

// Op is the completion target of one batch: the read-after-event half of
// its ops. Complete copies what the ops received out of C memory, lets the
// call account for the finished batch, and wakes the waiter.
type Op struct {
	done  chan struct{}
	call  batchOwner
	q     *queue
	state atomic.Int32 // opRunning, opParked (a goroutine is parked in Wait), opDone
	// claimed by the first of Complete and orphan: the other does nothing.
	claimed atomic.Bool
	// wasParked: Complete woke a goroutine parked in Wait (poller only).
	wasParked bool
	// unwaited: counted in the queue's unwaited tags (it has a hook).
	unwaited bool

	// Results are what the batch received, by op (cgo/ops.go): valid
	// once Done is closed.
	Results

	ops   uint32
	after func(*Op) // runs on the poller after done is closed; must not block
}

type batchOwner interface {
	batchDone(o *Op, final bool)
}

func newOp(owner batchOwner, q *queue, ops uint32) *Op {
	return &Op{done: make(chan struct{}), call: owner, q: q, ops: ops}
}

// Done is closed when the batch has completed and its results are set.
func (o *Op) Done() <-chan struct{} { return o.done }

// Wait blocks until the batch completes. If the queue's polling token is
// free it polls the queue itself (inline polling, see the package doc), so
// its own completion needs no hand-off between goroutines.
func (o *Op) Wait() *Op {
	if o.isDone() {
		return o
	}
	if o.q.acquireOrPark(o) {
		o.q.pollFor(o)
		return o
	}
	<-o.done
	return o
}

const (
	opRunning = iota
	opParked
	opDone
)

func (o *Op) isDone() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// Complete implements Completer.
func (o *Op) Complete(ev cgo.Event) { o.complete(ev) }

// complete is Complete; false if the Op was given up on (orphan), whose
// late completion is ignored.
func (o *Op) complete(ev cgo.Event) bool {
	if !o.claimed.CompareAndSwap(false, true) {
		cgo.Orphan(-1) // the core delivered it after all: the poller frees it
		return false
	}
	o.Success = ev.Success
	ev.Batch.Read(o.ops, &o.Results)
	final := o.ops&(cgo.OpRecvStatusOnClient|cgo.OpRecvCloseOnServer) != 0
	if o.call != nil {
		o.call.batchDone(o, final)
	}
	o.wasParked = o.finish()
	return true
}

// finish wakes the waiter and runs the hook; true if a goroutine was
// parked in Wait.
func (o *Op) finish() (wasParked bool) {
	close(o.done)
	if o.state.Swap(opDone) == opParked {
		o.q.parked.Add(-1)
		wasParked = true
	}
	if o.after != nil {
		o.after(o)
	}
	return wasParked
}

// orphan completes the Op as failed without its event, for a batch the
// core will not complete (ClientCall.giveUp): its waiter and hook see
// Success false and nothing received. The batch's C memory stays the
// core's (it may still write to it) and is counted as an orphan. False if
// the event came first.
func (o *Op) orphan() bool {
	if !o.claimed.CompareAndSwap(false, true) {
		return false
	}
	cgo.Orphan(1)
	if o.unwaited {
		o.q.unwaited.Add(-1) // deliver will not see it
	}
	o.finish()
	return true
}

// OutgoingMetadata is metadata to send, checked against the core's header
// rules and encoded for it once (CheckMetadata). The zero value is empty.
type OutgoingMetadata struct {
	buf []byte
	n   int
}

// Len is the number of entries.
func (m OutgoingMetadata) Len() int { return m.n }

func (m *OutgoingMetadata) add(key, value string) {
	m.buf = cgo.EncodeMetadata(m.buf, key, value)
	m.n++
}

// MetadataError reports metadata the core would refuse, found before
// anything is sent.
type MetadataError struct {
	Index int
	Key   string
	Value string
	Why   int // 1: illegal key, 2: illegal value for a non-binary key
}

func (e *MetadataError) Error() string {
	if e.Why == 1 {
		return fmt.Sprintf("metadata was invalid: key %q (entry %d) is not a legal header key "+
			"(lowercase letters, digits, '-', '_' and '.' only)", e.Key, e.Index)
	}
	return fmt.Sprintf("metadata was invalid: value of key %q (entry %d) is not printable ASCII; "+
		"binary values need a key ending in \"-bin\"", e.Key, e.Index)
}

// CheckMetadata validates md with the core's own header rules
// (grpc_header_key_is_legal, grpc_header_nonbin_value_is_legal) and
// encodes it for sending.
func CheckMetadata(md []Metadatum) (OutgoingMetadata, error) {
	var m OutgoingMetadata
	for _, kv := range md {
		m.add(kv.Key, kv.Value)
	}
	if i, why := cgo.CheckMetadata(m.buf, m.n); i >= 0 {
		return OutgoingMetadata{}, &MetadataError{Index: i, Key: md[i].Key, Value: md[i].Value, Why: why}
	}
	return m, nil
}

// CallError is a grpc_call_error returned by grpc_call_start_batch or a
// related core call.
type CallError struct {
	Code int
	Op   string
}

func (e *CallError) Error() string {
	return fmt.Sprintf("%s: %s", e.Op, cgo.CallErrorString(e.Code))
}
