//go:build cgo

// Package cgo is grpcpy's only door to the gRPC C core (libgrpc). It is the
// Go twin of grpcio's _cython/_cygrpc layer: thin wrappers over the helpers
// declared in shim.h, one cgo crossing per operation.
//
// # Ownership
//
//   - CQ, Channel, Server and Call wrap core pointers. Each has exactly one
//     Go owner (package core), which calls Destroy/Unref once. Nothing here
//     uses finalizers.
//   - A Batch is C memory holding one batch's ops and receive slots. Its
//     address is the completion-queue tag; it refers back to its Go
//     completion target only through a runtime/cgo.Handle stored as an
//     integer. The queue's holder takes the target (deleting the handle)
//     when the event arrives, reads the results, and frees the batch on
//     its next call to Next (or with Release, when it stops polling). A
//     batch whose start fails is freed with Free.
//   - Go memory passed to C (message bytes, metadata) is only read during
//     the call; C copies it into core slices. A message marshalled straight
//     into core memory (Batch.PrepareMessage) is written by Go into a slice
//     the batch owns, before the start.
//   - A received message stays in the core's memory: the holder takes its
//     grpc_byte_buffer out of the batch (Batch.TakeMessage) and the
//     goroutine that consumes it reads and destroys it (Received).
//
// LiveCounts reports how many C objects of each kind exist, so tests can
// check that every path frees what it made.
package cgo

/*
#cgo CFLAGS: -O2 -Wall -Werror=implicit-function-declaration -Werror=int-conversion
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	rtcgo "runtime/cgo"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Event types of grpc_completion_type.
const (
	QueueShutdown = int(C.GRPC_QUEUE_SHUTDOWN)
	QueueTimeout  = int(C.GRPC_QUEUE_TIMEOUT)
	OpComplete    = int(C.GRPC_OP_COMPLETE)
)

// Op bits for StartBatch, each one grpc_op_type.
const (
	OpSendInitialMetadata  = uint32(C.GP_OP_SEND_INITIAL_METADATA)
	OpSendMessage          = uint32(C.GP_OP_SEND_MESSAGE)
	OpSendCloseFromClient  = uint32(C.GP_OP_SEND_CLOSE_FROM_CLIENT)
	OpSendStatusFromServer = uint32(C.GP_OP_SEND_STATUS_FROM_SERVER)
	OpRecvInitialMetadata  = uint32(C.GP_OP_RECV_INITIAL_METADATA)
	OpRecvMessage          = uint32(C.GP_OP_RECV_MESSAGE)
	OpRecvStatusOnClient   = uint32(C.GP_OP_RECV_STATUS_ON_CLIENT)
	OpRecvCloseOnServer    = uint32(C.GP_OP_RECV_CLOSE_ON_SERVER)
)

// Tag kinds.
const (
	TagBatch        = int(C.GP_TAG_BATCH)
	TagRequestCall  = int(C.GP_TAG_REQUEST_CALL)
	TagShutdown     = int(C.GP_TAG_SHUTDOWN)
	TagConnectivity = int(C.GP_TAG_CONNECTIVITY)
	// TagRequestRegistered is a registered method's call, first message read.
	TagRequestRegistered = int(C.GP_TAG_REQUEST_REGISTERED)
)

// Initial-metadata flags.
const (
	FlagWaitForReady              = uint32(C.GRPC_INITIAL_METADATA_WAIT_FOR_READY)
	FlagWaitForReadyExplicitlySet = uint32(C.GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET)
)

// FlagWriteNoCompress is GRPC_WRITE_NO_COMPRESS, a SEND_MESSAGE flag.
const FlagWriteNoCompress = uint32(C.GRPC_WRITE_NO_COMPRESS)

// Compression algorithms (grpc_compression_algorithm) and the names the
// core gives them (grpc_compression_algorithm_name), and the metadata key
// that asks the core to compress one call with an algorithm.
const (
	CompressNone    = int(C.GRPC_COMPRESS_NONE)
	CompressDeflate = int(C.GRPC_COMPRESS_DEFLATE)
	CompressGzip    = int(C.GRPC_COMPRESS_GZIP)
	// CompressionRequestKey is GRPC_COMPRESSION_REQUEST_ALGORITHM_MD_KEY.
	CompressionRequestKey = C.GRPC_COMPRESSION_REQUEST_ALGORITHM_MD_KEY
	// CompressionDefaultArg is GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM.
	CompressionDefaultArg = C.GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM
	// CompressionEnabledArg is GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET.
	CompressionEnabledArg = C.GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET
)

// CompressionName is grpc_compression_algorithm_name ("identity",
// "deflate", "gzip"); "" for an algorithm the core does not know.
func CompressionName(algorithm int) string {
	var name *C.char
	if C.grpc_compression_algorithm_name(C.grpc_compression_algorithm(algorithm), &name) == 0 {
		return ""
	}
	return C.GoString(name)
}

// CallOK is GRPC_CALL_OK.
const CallOK = int(C.GRPC_CALL_OK)

// CoreABI is the version series of the core this package's shim is written
// against (core 29.x is gRPC 1.51, Debian's libgrpc-dev): the layouts of
// grpc_op, grpc_metadata and the other structs it fills. The C headers
// carry no version macro, so the linked library is checked at run time.
const CoreABI = "29."

var versionOnce sync.Once

// Init runs grpc_init once for the life of the process, then checks that
// the linked core is of the series the headers promised (as
// confluent-kafka-go checks librdkafka): a mismatched libgrpc.so would
// fill the shim's structs with another layout, so it stops here with a
// clear message instead.
func Init() {
	C.gp_init()
	versionOnce.Do(func() {
		if v := VersionString(); !strings.HasPrefix(v, CoreABI) {
			panic(fmt.Sprintf("grpcpy: linked gRPC core is version %s, but grpcpy was built for core %sx "+
				"(gRPC 1.51, Debian's libgrpc-dev): rebuild against the installed headers or install the matching libgrpc", v, CoreABI))
		}
	})
}

// VersionString is grpc_version_string(), the C core's version.
func VersionString() string { return C.GoString(C.gp_version_string()) }

// GStandsFor is grpc_g_stands_for().
func GStandsFor() string { return C.GoString(C.gp_g_stands_for()) }

// CallErrorString is grpc_call_error_to_string.
func CallErrorString(code int) string {
	return C.GoString(C.grpc_call_error_to_string(C.grpc_call_error(code)))
}

// Live counts C objects created by this package and not yet freed.
// Orphans are batches the core never completed and grpcpy gave up on
// (their memory stays the core's to write; see core.ClientCall): they are
// reported apart and not in Total.
type Live struct {
	CQs, Channels, Calls, Servers, Batches, Credentials int64
	// Messages are received messages not yet destroyed: in their batch, or
	// taken out of it (Received) and not yet read or released.
	Messages int64
	Orphans  int64
}

// Total is the sum of all kinds but Orphans.
func (l Live) Total() int64 {
	return l.CQs + l.Channels + l.Calls + l.Servers + l.Batches + l.Credentials + l.Messages
}

// LiveCounts reads the live-object counters kept in shim.c.
func LiveCounts() Live {
	var v [C.GP_LIVE_N]C.int64_t
	C.gp_live_counts(&v[0])
	return Live{
		CQs: int64(v[C.GP_LIVE_CQ]), Channels: int64(v[C.GP_LIVE_CHANNEL]),
		Calls: int64(v[C.GP_LIVE_CALL]), Servers: int64(v[C.GP_LIVE_SERVER]),
		Batches: int64(v[C.GP_LIVE_BATCH]), Credentials: int64(v[C.GP_LIVE_CREDS]),
		Messages: int64(v[C.GP_LIVE_MESSAGE]), Orphans: int64(v[C.GP_LIVE_ORPHAN]),
	}
}

// Orphan moves n batches from the live count to the orphan count (n < 0:
// back, when the core delivers an orphan after all).
func Orphan(n int64) { C.gp_live_orphan(C.int64_t(n)) }

// Metadatum is one metadata entry as it crosses the boundary.
type Metadatum struct{ Key, Value string }

// EncodeMetadata lays metadata out in the flat form shim.c parses: per
// entry, native-endian u32 key length, key, u32 value length, value.
func EncodeMetadata(dst []byte, key, value string) []byte {
	dst = binary.NativeEndian.AppendUint32(dst, uint32(len(key)))
	dst = append(dst, key...)
	dst = binary.NativeEndian.AppendUint32(dst, uint32(len(value)))
	return append(dst, value...)
}

// CheckMetadata applies the core's own header rules (grpc_header_key_is_legal,
// grpc_header_nonbin_value_is_legal) to an encoded metadata buffer. It
// returns -1 if all entries are legal, else the first bad index and why:
// 1 for an illegal key, 2 for an illegal value in a non "-bin" key.
func CheckMetadata(buf []byte, count int) (index int, why int) {
	if count == 0 {
		return -1, 0
	}
	var w C.int
	i := C.gp_metadata_check(bytesPtr(buf), C.size_t(len(buf)), C.size_t(count), &w)
	return int(i), int(w)
}

// ArgsBuilder encodes channel args (grpc_arg) in the flat form shim.c parses.
type ArgsBuilder struct {
	buf []byte
	n   int
}

// String adds a GRPC_ARG_STRING arg.
func (a *ArgsBuilder) String(key, value string) {
	a.buf = append(a.buf, 's')
	a.buf = binary.NativeEndian.AppendUint32(a.buf, uint32(len(key)))
	a.buf = append(a.buf, key...)
	a.buf = binary.NativeEndian.AppendUint32(a.buf, uint32(len(value)))
	a.buf = append(a.buf, value...)
	a.n++
}

// Int adds a GRPC_ARG_INTEGER arg.
func (a *ArgsBuilder) Int(key string, value int64) {
	a.buf = append(a.buf, 'i')
	a.buf = binary.NativeEndian.AppendUint32(a.buf, uint32(len(key)))
	a.buf = append(a.buf, key...)
	a.buf = binary.NativeEndian.AppendUint64(a.buf, uint64(value))
	a.n++
}

func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b)))
}

func strPtr(s string) *C.char {
	if len(s) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

// NoDeadline is the timeout that means "no deadline" (Python's
// timeout=None). Every other value, negative ones included, is a deadline
// that far from now: a negative timeout is a deadline already past, which
// the core ends with DEADLINE_EXCEEDED, as grpcio's time.time() + timeout.
const NoDeadline = time.Duration(math.MinInt64)

func timeoutNS(timeout time.Duration) C.int64_t { return C.int64_t(timeout) }

// ---------- completion queues ----------

// CQ is a "next" completion queue (grpc_completion_queue_create_for_next).
type CQ struct{ p *C.grpc_completion_queue }

// NewCQ creates a completion queue.
func NewCQ() CQ { return CQ{C.gp_cq_create()} }

// Event is one completion, flattened by gp_cq_next.
type Event struct {
	Type    int
	Success bool
	Batch   Batch
}

// Next frees prev (if any), then calls grpc_completion_queue_next: with
// block, with an infinite deadline; without, with a past one, returning a
// QueueTimeout event when nothing is ready. Only the holder of a queue's
// polling token calls it (package core), so the OS threads it holds stay
// bounded.
func (q CQ) Next(prev Batch, block bool) Event {
	b := C.int(0)
	if block {
		b = 1
	}
	ev := C.gp_cq_next(q.p, prev.p, b)
	return Event{Type: int(ev._type), Success: ev.success != 0, Batch: Batch{ev.batch}}
}

// Shutdown is grpc_completion_queue_shutdown.
func (q CQ) Shutdown() { C.gp_cq_shutdown(q.p) }

// Destroy is grpc_completion_queue_destroy; only after Next saw QueueShutdown.
func (q CQ) Destroy() { C.gp_cq_destroy(q.p) }

// ---------- batches ----------

// Batch is a C-allocated tag with the ops and receive slots of one batch.
type Batch struct{ p *C.gp_batch }

// NewBatch allocates a tag of the given kind whose completion is delivered
// to target.
func NewBatch(target any, kind int) Batch {
	h := rtcgo.NewHandle(target)
	return Batch{C.gp_batch_new(C.uintptr_t(h), C.int(kind))}
}

// Nil reports whether this is the zero Batch.
func (b Batch) Nil() bool { return b.p == nil }

// Take returns the Go completion target and deletes its handle. Called
// exactly once, by the poller, when the tag's event arrives.
func (b Batch) Take() any {
	h := rtcgo.Handle(b.p.handle)
	v := h.Value()
	h.Delete()
	return v
}

// Release frees a batch whose event was delivered (Take already deleted
// its handle), for a caller that will not pass it to Next as prev.
func (b Batch) Release() { C.gp_batch_free(b.p) }

// Free releases a batch whose start failed (its event will never come).
func (b Batch) Free() {
	rtcgo.Handle(b.p.handle).Delete()
	C.gp_batch_free(b.p)
}

// Kind is the tag kind.
func (b Batch) Kind() int { return int(b.p.kind) }

// Results, valid inside the completion only (the poller frees the batch on
// its next Next). A batch of ops is read with Read (ops.go); a request-call
// tag with the readers below and InitialMetadata, HasMessage and Message.

// NewCall is the call a successful request-call tag delivered; the caller
// now owns it and must Unref it.
func (b Batch) NewCall() Call { return Call{b.p.new_call} }

// Method and Host are the request-call's grpc_call_details.
func (b Batch) Method() string { return C.GoStringN(b.p.method_ptr, C.int(b.p.method_len)) }

// Host is the :authority of a new call.
func (b Batch) Host() string { return C.GoStringN(b.p.host_ptr, C.int(b.p.host_len)) }

// Deadline is the new call's deadline (grpc_call_details.deadline on the
// wall clock, as grpcio reads it); ok is false when the call has none.
func (b Batch) Deadline() (deadline time.Time, ok bool) {
	if b.p.deadline_infinite != 0 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(b.p.deadline_unix_ns)), true
}

// ---------- channels ----------

// ChannelCredentials wraps grpc_channel_credentials; the zero value means
// insecure.
type ChannelCredentials struct{ p *C.grpc_channel_credentials }

// Channel wraps grpc_channel.
type Channel struct {
	p *C.grpc_channel
	// CreateErrors are the core's ERROR log lines from grpc_channel_create
	// (one per line), set by NewChannel: a rejected service config is
	// reported only there, and the channel returned is lame.
	CreateErrors string
}

// NewChannel is grpc_channel_create with the given credentials (zero:
// grpc_insecure_credentials_create) and channel args.
func NewChannel(target string, creds ChannelCredentials, args *ArgsBuilder) Channel {
	ct := C.CString(target)
	defer C.free(unsafe.Pointer(ct))
	var errs *C.char
	ch := Channel{p: C.gp_channel_create(ct, creds.p, bytesPtr(args.buf), C.size_t(len(args.buf)), C.size_t(args.n), &errs)}
	if errs != nil {
		ch.CreateErrors = C.GoString(errs)
		C.gp_free(unsafe.Pointer(errs))
	}
	return ch
}

// NewInprocChannel is the core's grpc_inproc_channel_create: a channel to
// server in this process over the in-process transport (no socket). The
// server must be started.
func NewInprocChannel(server Server, args *ArgsBuilder) Channel {
	return Channel{p: C.gp_inproc_channel_create(server.p, bytesPtr(args.buf), C.size_t(len(args.buf)), C.size_t(args.n))}
}

// Nil reports a failed creation.
func (c Channel) Nil() bool { return c.p == nil }

// Nil reports whether grpc_server_create failed.
func (s Server) Nil() bool { return s.p == nil }

// Destroy is grpc_channel_destroy.
func (c Channel) Destroy() { C.gp_channel_destroy(c.p) }

// CheckState is grpc_channel_check_connectivity_state.
func (c Channel) CheckState(tryToConnect bool) int {
	t := 0
	if tryToConnect {
		t = 1
	}
	return int(C.gp_channel_check_state(c.p, C.int(t)))
}

// Watch is grpc_channel_watch_connectivity_state; b must be a TagConnectivity batch.
func (c Channel) Watch(last int, timeout time.Duration, q CQ, b Batch) {
	C.gp_channel_watch(c.p, C.int(last), timeoutNS(timeout), q.p, b.p)
}

// CreateCall is grpc_channel_create_call; timeout NoDeadline means none.
// The deadline is taken on GPR_CLOCK_MONOTONIC, immune to wall-clock jumps.
func (c Channel) CreateCall(q CQ, method, host string, timeout time.Duration) Call {
	return Call{C.gp_channel_create_call(c.p, q.p, strPtr(method), C.size_t(len(method)),
		strPtr(host), C.size_t(len(host)), timeoutNS(timeout))}
}

// ---------- calls ----------

// Call wraps grpc_call.
type Call struct{ p *C.grpc_call }

// Nil reports a failed creation or a released call.
func (c Call) Nil() bool { return c.p == nil }

// Cancel is grpc_call_cancel.
func (c Call) Cancel() int { return int(C.gp_call_cancel(c.p)) }

// CancelWithStatus is grpc_call_cancel_with_status.
func (c Call) CancelWithStatus(status int, description string) int {
	d := C.CString(description)
	defer C.free(unsafe.Pointer(d))
	return int(C.gp_call_cancel_with_status(c.p, C.int(status), d))
}

// Unref is grpc_call_unref.
func (c Call) Unref() { C.gp_call_unref(c.p) }

// Peer is grpc_call_get_peer.
func (c Call) Peer() string {
	var buf [256]C.char
	n := C.gp_call_peer(c.p, &buf[0], C.size_t(len(buf)))
	if int(n) >= len(buf) {
		big := make([]C.char, n+1)
		C.gp_call_peer(c.p, &big[0], C.size_t(len(big)))
		return C.GoString(&big[0])
	}
	return C.GoString(&buf[0])
}

// AuthProperty is one property of a grpc_auth_context.
type AuthProperty struct{ Name, Value string }

// AuthContext reads grpc_call_auth_context: all properties, the peer
// identity property name, and whether the peer is authenticated. ok is
// false when the call has no auth context.
func (c Call) AuthContext() (props []AuthProperty, identityName string, authenticated, ok bool) {
	var out *C.char
	var idname [128]C.char
	var auth C.int
	n := C.gp_call_auth_context(c.p, &out, &idname[0], C.size_t(len(idname)), &auth)
	if out == nil {
		return nil, "", false, false
	}
	defer C.gp_free(unsafe.Pointer(out))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(out)), int(n))
	for len(buf) >= 4 {
		nl := binary.NativeEndian.Uint32(buf)
		name := string(buf[4 : 4+nl])
		buf = buf[4+nl:]
		vl := binary.NativeEndian.Uint32(buf)
		value := string(buf[4 : 4+vl])
		buf = buf[4+vl:]
		props = append(props, AuthProperty{name, value})
	}
	return props, C.GoString(&idname[0]), auth != 0, true
}

// ---------- servers ----------

// Server wraps grpc_server.
type Server struct{ p *C.grpc_server }

// NewServer is grpc_server_create with channel args.
func NewServer(args *ArgsBuilder) Server {
	return Server{C.gp_server_create(bytesPtr(args.buf), C.size_t(len(args.buf)), C.size_t(args.n))}
}

// RegisterCQ is grpc_server_register_completion_queue.
func (s Server) RegisterCQ(q CQ) { C.gp_server_register_cq(s.p, q.p) }

// AddInsecurePort is grpc_server_add_http2_port with insecure credentials;
// it returns the bound port, 0 on failure.
func (s Server) AddInsecurePort(addr string) int {
	a := C.CString(addr)
	defer C.free(unsafe.Pointer(a))
	return int(C.gp_server_add_insecure_port(s.p, a))
}

// Start is grpc_server_start.
func (s Server) Start() { C.gp_server_start(s.p) }

// RequestCall is grpc_server_request_call, bound to and notified on q.
func (s Server) RequestCall(q CQ, b Batch) int {
	return int(C.gp_server_request_call(s.p, q.p, b.p))
}

// RegisteredMethod is the handle of grpc_server_register_method.
type RegisteredMethod struct{ p unsafe.Pointer }

// RegisterMethod is grpc_server_register_method with
// GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER; before Start only.
func (s Server) RegisterMethod(method string) (RegisteredMethod, bool) {
	m := C.CString(method)
	defer C.free(unsafe.Pointer(m)) // core 1.51 copies it (Server::RegisteredMethod)
	p := C.gp_server_register_method(s.p, m)
	return RegisteredMethod{p}, p != nil
}

// RequestRegisteredCall is grpc_server_request_registered_call.
func (s Server) RequestRegisteredCall(m RegisteredMethod, q CQ, b Batch) int {
	return int(C.gp_server_request_registered_call(s.p, m.p, q.p, b.p))
}

// ShutdownAndNotify is grpc_server_shutdown_and_notify.
func (s Server) ShutdownAndNotify(q CQ, b Batch) { C.gp_server_shutdown(s.p, q.p, b.p) }

// CancelAllCalls is grpc_server_cancel_all_calls.
func (s Server) CancelAllCalls() { C.gp_server_cancel_all_calls(s.p) }

// Destroy is grpc_server_destroy.
func (s Server) Destroy() { C.gp_server_destroy(s.p) }
