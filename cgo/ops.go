//go:build cgo

package cgo

/*
#include "shim.h"
*/
import "C"

import "unsafe"

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
	Message       []byte // OpSendMessage
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
// its own gp_send, so no C struct holding Go pointers is built here.
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
	Message          []byte      // OpRecvMessage
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
	// build: Send.Message, Send.MessageFlags.
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
		r.Message = b.Message()
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

// Message copies the received message into Go memory.
func (b Batch) Message() []byte {
	if b.p.has_msg == 0 {
		return nil
	}
	n := int(b.p.msg_len)
	if n == 0 {
		return []byte{}
	}
	// One copy, from the core's slices into Go memory (C writes into a Go
	// buffer that holds no Go pointers, only during the call).
	out := make([]byte, n)
	got := C.gp_batch_msg_copy(b.p, (*C.char)(unsafe.Pointer(&out[0])), C.size_t(n))
	return out[:int(got)]
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
