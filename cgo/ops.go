//go:build cgo

package cgo

/*
#include "shim.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Each batch op has two halves, kept together as grpcio's operation.pyx.pxi
// keeps each Operation's c() and un_c(): the build half is in C (ops.c:
// op_table's build, fed from Send through StartBatch, and its flatten and
// free), the read half is here (opTable's read, which copies the op's
// results out of C memory into Results). Adding an op is one section and
// one row in ops.c, one row in opTable, and, if it sends something, its
// fields in Send; TestOpTablesComplete checks that the two tables agree.

// Send describes the send side of a batch: the arguments of the send ops'
// build halves (ops.c). Each field is read only by the op named beside it.
type Send struct {
	Flags         uint32 // OpSendInitialMetadata: initial-metadata flags
	Metadata      []byte // OpSendInitialMetadata: EncodeMetadata form
	MetadataCount int    // OpSendInitialMetadata
	Message       []byte // OpSendMessage (unless Batch.PrepareMessage marshalled it into the batch)
	MessageFlags  uint32 // OpSendMessage: write flags (FlagWriteNoCompress)
	Status        int    // OpSendStatusFromServer
	Details       string // OpSendStatusFromServer
	Trailing      []byte // OpSendStatusFromServer: EncodeMetadata form
	TrailingCount int    // OpSendStatusFromServer
}

// StartBatch is grpc_call_start_batch for the ops bits in ops. It returns a
// grpc_call_error; on anything but CallOK the caller frees b.
//
// The Send fields cross as scalars and pointers to their bytes (only read
// during the call, which copies what the batch keeps); C gathers them into
// its own gp_send, so no C struct holding Go pointers is built here. A
// message prepared in the batch (PrepareMessage) is sent instead of
// s.Message, without a copy.
func (c Call) StartBatch(b Batch, ops uint32, s *Send) int {
	b.p.ops = C.uint32_t(ops)
	if s == nil {
		s = &Send{}
	}
	return int(C.gp_call_start_batch(c.p, b.p, C.uint32_t(s.Flags),
		bytesPtr(s.Metadata), C.size_t(len(s.Metadata)), C.size_t(s.MetadataCount),
		bytesPtr(s.Message), C.size_t(len(s.Message)), C.uint32_t(s.MessageFlags),
		C.int(s.Status), strPtr(s.Details), C.size_t(len(s.Details)),
		bytesPtr(s.Trailing), C.size_t(len(s.Trailing)), C.size_t(s.TrailingCount)))
}

// Results is what a batch's ops received, copied into Go memory by Read.
// Success is the event's (Event.Success), which the batch does not record:
// the caller sets it, Read leaves it alone.
type Results struct {
	Success          bool
	HasMessage       bool        // OpRecvMessage
	Message          Received    // OpRecvMessage: still in core memory, read by its consumer
	InitialMetadata  []Metadatum // OpRecvInitialMetadata
	TrailingMetadata []Metadatum // OpRecvStatusOnClient
	Status           int         // OpRecvStatusOnClient
	Details          string      // OpRecvStatusOnClient
	ErrorString      string      // OpRecvStatusOnClient
	Cancelled        bool        // OpRecvCloseOnServer
}

// opRow is one op's read half, next to its bit.
type opRow struct {
	bit  uint32
	read func(b Batch, r *Results) // nil: the op receives nothing
}

// opTable has one row per op bit, in ops.c's op_table order. Each row's
// comment names the Send fields its C build half reads.
var opTable = [...]opRow{
	// build: Send.Flags, Send.Metadata, Send.MetadataCount.
	{OpSendInitialMetadata, nil},
	// build: Send.Message (or the slice PrepareMessage filled), Send.MessageFlags.
	{OpSendMessage, nil},
	// build: no arguments.
	{OpSendCloseFromClient, nil},
	// build: Send.Status, Send.Details, Send.Trailing, Send.TrailingCount.
	{OpSendStatusFromServer, nil},
	// build: no arguments (a receive slot).
	{OpRecvInitialMetadata, func(b Batch, r *Results) {
		r.InitialMetadata = b.InitialMetadata()
	}},
	// build: no arguments (a receive slot).
	{OpRecvMessage, func(b Batch, r *Results) {
		r.HasMessage = b.HasMessage()
		r.Message = b.TakeMessage()
	}},
	// build: no arguments (receive slots).
	{OpRecvStatusOnClient, func(b Batch, r *Results) {
		r.Status = b.Status()
		r.Details = b.Details()
		r.ErrorString = b.ErrorString()
		r.TrailingMetadata = b.TrailingMetadata()
	}},
	// build: no arguments (a receive slot).
	{OpRecvCloseOnServer, func(b Batch, r *Results) {
		r.Cancelled = b.Cancelled()
	}},
}

// Read copies the results of the ops in ops (the bits the batch was
// started with) into r: for each bit, its row's reader. Fields of ops not
// in ops are left alone. Valid inside the completion only (the poller frees
// the batch on its next Next).
func (b Batch) Read(ops uint32, r *Results) {
	for i := range opTable {
		if row := &opTable[i]; ops&row.bit != 0 && row.read != nil {
			row.read(b, r)
		}
	}
}

// opsTableC reports the OR of the bits in ops.c's op_table and its number
// of rows (for the tests, which cannot use cgo themselves).
func opsTableC() (bits uint32, rows int) {
	return uint32(C.gp_ops_table_bits()), int(C.gp_ops_table_len())
}

// The per-op readers. HasMessage, Message and InitialMetadata also read
// request-call tags.

// HasMessage reports whether RECV_MESSAGE produced a message (false at end
// of stream or on failure), or whether a registered request-call tag came
// with its first message.
func (b Batch) HasMessage() bool { return b.p.has_msg != 0 }

// TakeMessage takes the received message out of the batch, still in the
// core's memory: the batch no longer frees it, the Received does (see
// Received). The zero Received if there is none. Reads and writes C fields
// only: no crossing on the poller.
func (b Batch) TakeMessage() Received {
	if b.p.has_msg == 0 || b.p.recv_msg == nil {
		return Received{}
	}
	r := Received{p: b.p.recv_msg, n: int(b.p.msg_len)}
	b.p.recv_msg = nil // still counted live (GP_LIVE_MESSAGE) until destroyed
	return r
}

// Received is a message RECV_MESSAGE (or a registered request) received,
// left in the core's memory: its grpc_byte_buffer, taken out of the batch
// on the poller (TakeMessage) so that the goroutine that consumes it, not
// the poller, reads it. It is the read half of grpcio's
// ReceiveMessageOperation (un_c, message()), moved off the poller. Exactly
// one owner uses it, once: Bytes (a Go copy of its own), View (read in
// place) or Release; each destroys the buffer (grpc_byte_buffer_destroy),
// and later calls see an empty message. Until then it is counted in
// Live.Messages.
type Received struct {
	p *C.grpc_byte_buffer
	n int
}

// Len is the message's length in bytes.
func (r *Received) Len() int { return r.n }

// Bytes copies the message into Go memory the caller owns (one copy, from
// the core's slices with grpc_byte_buffer_reader_next, as grpcio's un_c;
// in the same crossing the buffer is destroyed). An empty message is an
// empty, non-nil slice; nil if there is none.
func (r *Received) Bytes() []byte {
	p := r.p
	if p == nil {
		return nil
	}
	r.p = nil
	if r.n == 0 {
		C.gp_msg_destroy(p)
		return []byte{}
	}
	out := make([]byte, r.n)
	got := C.gp_msg_copy(p, (*C.char)(unsafe.Pointer(&out[0])), C.size_t(r.n), 1)
	return out[:int(got)]
}

// View calls f with the message's bytes, then destroys the buffer (also if
// f panics). The bytes are valid only during f, which must not keep them
// or write to them: they are the core's slice itself when the message is
// one uncompressed slice (GRPC_SLICE_START_PTR of the byte buffer's only
// slice), else a copy, through grpc_byte_buffer_reader, in a pooled
// buffer that the next View reuses. f is called with nil if there is no
// message. grpcio has no equivalent: Python always builds bytes.
func (r *Received) View(f func([]byte) error) error {
	p := r.p
	if p == nil {
		return f(nil)
	}
	r.p = nil
	defer C.gp_msg_destroy(p)
	if r.n == 0 {
		return f([]byte{})
	}
	if start := C.gp_msg_view(p); start != nil {
		return f(unsafe.Slice((*byte)(unsafe.Pointer(start)), r.n))
	}
	bp := flatPool.Get().(*[]byte)
	if cap(*bp) < r.n {
		*bp = make([]byte, r.n)
	}
	buf := (*bp)[:r.n]
	got := C.gp_msg_copy(p, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(r.n), 0)
	defer func() {
		if cap(*bp) <= maxPooledFlat {
			flatPool.Put(bp)
		}
	}()
	return f(buf[:int(got)])
}

// viewInPlace reports whether View would read the message in place (one
// uncompressed slice), for the tests.
func (r *Received) viewInPlace() bool {
	return r.p != nil && C.gp_msg_view(r.p) != nil
}

// Release destroys the message unread (grpc_byte_buffer_destroy): a
// consumer that does not want it, an RPC that ended first. Idempotent.
func (r *Received) Release() {
	if p := r.p; p != nil {
		r.p = nil
		C.gp_msg_destroy(p)
	}
}

// flatPool holds the buffers View flattens multi-slice messages into: not
// zeroed (every byte View hands out was just written), not kept beyond
// maxPooledFlat, so one huge message does not pin its buffer.
var flatPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledFlat = 4 << 20

// Marshaler marshals messages straight into core memory: PrepareMessage
// asks Size, allocates that many bytes in a core slice and has
// MarshalAppend append the message to an empty buffer of exactly that
// capacity (protobuf's MarshalOptions{UseCachedSize: true}.MarshalAppend
// after proto.Size). Taking the message as an argument lets a stateless
// Marshaler serve every message without an allocation per message.
type Marshaler interface {
	Size(message any) int
	MarshalAppend(buf []byte, message any) ([]byte, error)
}

// PrepareMessage marshals message with m straight into a core slice held
// by the batch (grpc_slice_malloc; no Go allocation of the payload, no
// copy), which StartBatch's SEND_MESSAGE then sends instead of
// Send.Message: the slice grpcio's SendMessageOperation.c() fills with
// grpc_slice_from_copied_buffer, filled here by the marshaler itself. The
// batch owns the slice from here on: Free or the batch's release frees it
// whether the batch started or not. An error is the Marshaler's
// (MarshalAppend runs for an empty message too: it may refuse one, a
// proto2 message missing a required field say).
func (b Batch) PrepareMessage(m Marshaler, message any) error {
	n := max(m.Size(message), 0)
	start := C.gp_batch_msg_prepare(b.p, C.size_t(n))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(start)), n)
	out, err := m.MarshalAppend(buf[:0], message)
	if err != nil {
		return err
	}
	if len(out) != n || unsafe.SliceData(out) != unsafe.SliceData(buf) {
		// The message changed between Size and MarshalAppend, which grew
		// it (into Go memory) or shrank it: send what was marshalled.
		if len(out) == 0 {
			C.gp_batch_msg_prepare(b.p, 0)
		} else {
			C.gp_batch_msg_prepared_copy(b.p, bytesPtr(out), C.size_t(len(out)))
		}
	}
	return nil
}

func readMD(v *C.gp_md, n C.size_t) []Metadatum {
	if n == 0 {
		return nil
	}
	views := unsafe.Slice(v, int(n))
	out := make([]Metadatum, len(views))
	for i, m := range views {
		out[i] = Metadatum{
			Key:   C.GoStringN(m.key, C.int(m.key_len)),
			Value: C.GoStringN(m.value, C.int(m.value_len)),
		}
	}
	return out
}

// InitialMetadata copies RECV_INITIAL_METADATA (or, for a request-call tag,
// the request metadata).
func (b Batch) InitialMetadata() []Metadatum { return readMD(b.p.md_view, b.p.md_view_count) }

// TrailingMetadata copies the trailing metadata of RECV_STATUS_ON_CLIENT.
func (b Batch) TrailingMetadata() []Metadatum { return readMD(b.p.tmd_view, b.p.tmd_view_count) }

// Status is the status code of RECV_STATUS_ON_CLIENT.
func (b Batch) Status() int { return int(b.p.status) }

// Details is the status message of RECV_STATUS_ON_CLIENT.
func (b Batch) Details() string {
	return C.GoStringN(b.p.details_ptr, C.int(b.p.details_len))
}

// ErrorString is the core's debug error string of RECV_STATUS_ON_CLIENT.
func (b Batch) ErrorString() string {
	if b.p.error_string == nil {
		return ""
	}
	return C.GoString(b.p.error_string)
}

// Cancelled is the out-value of RECV_CLOSE_ON_SERVER.
func (b Batch) Cancelled() bool { return b.p.cancelled != 0 }
