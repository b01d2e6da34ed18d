package grpc_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

type bv = wrapperspb.BytesValue

// copiesServer serves /copies.C/{Unary,Server,Client,Bidi} with typed
// protobuf handlers over BytesValue (the copy-free paths: responses
// marshalled straight into core memory, requests unmarshalled where the
// core received them), and /copies.C/{RawUnary,RawBidi} as untyped echoes
// of raw bytes. Server streams its request back in three parts, Client
// concatenates its requests.
func copiesServer(t *testing.T) *grpc.Channel {
	t.Helper()
	third := func(b []byte, i int) []byte { return b[i*len(b)/3 : (i+1)*len(b)/3] }
	_, addr := serve(t, nil, service("copies.C", map[string]*grpc.RpcMethodHandler{
		"Unary": grpc.TypedUnaryUnaryRpcMethodHandler(func(r *bv, _ *grpc.ServicerContext) (*bv, error) {
			return wrapperspb.Bytes(r.GetValue()), nil
		}),
		"Server": grpc.TypedUnaryStreamRpcMethodHandler(func(r *bv, _ *grpc.ServicerContext) iter.Seq2[*bv, error] {
			return func(yield func(*bv, error) bool) {
				for i := range 3 {
					if !yield(wrapperspb.Bytes(third(r.GetValue(), i)), nil) {
						return
					}
				}
			}
		}),
		"Client": grpc.TypedStreamUnaryRpcMethodHandler(func(rs iter.Seq2[*bv, error], _ *grpc.ServicerContext) (*bv, error) {
			var all []byte
			for r, err := range rs {
				if err != nil {
					return nil, err
				}
				all = append(all, r.GetValue()...)
			}
			return wrapperspb.Bytes(all), nil
		}),
		"Bidi": grpc.TypedStreamStreamRpcMethodHandler(func(rs iter.Seq2[*bv, error], _ *grpc.ServicerContext) iter.Seq2[*bv, error] {
			return rs
		}),
		"RawUnary": echoHandler(),
		"RawBidi": grpc.StreamStreamRpcMethodHandler(func(rs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] {
			return rs
		}),
	}))
	return dial(t, addr)
}

// messageSizes: an empty message, a short one (an inlined core slice), and
// ones over 64 KiB, which arrive in several slices (flattened into a pooled
// buffer before unmarshalling).
var messageSizes = []int{0, 32, 100 << 10, 1 << 20}

func payloadOf(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

// waitNoMessages waits for every received message's core buffer to be
// released (core.Live().Messages back to zero).
func waitNoMessages(t *testing.T, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for core.Live().Messages != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: received messages still in core memory: %+v", what, core.Live())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestProtobufMessagesWithoutCopies runs the four RPC shapes (unary as Call
// and Future, the streams as request iterators and Open) with protobuf
// messages both ways through the typed stubs and handlers, for each size
// of messageSizes, and checks every message and that no received message
// stays in core memory.
func TestProtobufMessagesWithoutCopies(t *testing.T) {
	leakcheck.Check(t)
	ch := copiesServer(t)
	to := grpc.WithTimeout(testTimeout)
	unary := grpc.NewUnaryUnary[*bv, *bv](ch, "/copies.C/Unary")
	server := grpc.NewUnaryStream[*bv, *bv](ch, "/copies.C/Server")
	client := grpc.NewStreamUnary[*bv, *bv](ch, "/copies.C/Client")
	bidi := grpc.NewStreamStream[*bv, *bv](ch, "/copies.C/Bidi")
	for _, n := range messageSizes {
		p := payloadOf(n, n)
		name := fmt.Sprintf("%d bytes", n)
		if r, err := unary.Call(wrapperspb.Bytes(p), to); err != nil || !bytes.Equal(r.GetValue(), p) {
			t.Fatalf("%s: unary Call: %d bytes, %v", name, len(r.GetValue()), err)
		}
		f, err := unary.Future(wrapperspb.Bytes(p), to)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := f.Result(); err != nil || !bytes.Equal(r.GetValue(), p) {
			t.Fatalf("%s: unary Future: %d bytes, %v", name, len(r.GetValue()), err)
		}

		it, err := server.Call(wrapperspb.Bytes(p), to)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		parts := 0
		for r, err := range it.All() {
			if err != nil {
				t.Fatalf("%s: unary-stream: %v", name, err)
			}
			got = append(got, r.GetValue()...)
			parts++
		}
		if parts != 3 || !bytes.Equal(got, p) {
			t.Fatalf("%s: unary-stream: %d parts, %d bytes", name, parts, len(got))
		}

		reqs := grpc.Requests(wrapperspb.Bytes(p), wrapperspb.Bytes(nil), wrapperspb.Bytes(p))
		if r, err := client.Call(reqs, to); err != nil || !bytes.Equal(r.GetValue(), append(append([]byte{}, p...), p...)) {
			t.Fatalf("%s: stream-unary: %d bytes, %v", name, len(r.GetValue()), err)
		}

		bit, err := bidi.Call(grpc.Requests(wrapperspb.Bytes(p), wrapperspb.Bytes(p[:n/2])), to)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]byte{p, p[:n/2]} {
			if r, err := bit.Next(); err != nil || !bytes.Equal(r.GetValue(), want) {
				t.Fatalf("%s: stream-stream (iterator) response %d: %d bytes, %v", name, i, len(r.GetValue()), err)
			}
		}
		if _, err := bit.Next(); err != io.EOF {
			t.Fatalf("%s: stream-stream (iterator) end: %v", name, err)
		}

		open, err := bidi.Open(to)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := open.Write(wrapperspb.Bytes(p)); err != nil {
				t.Fatal(err)
			}
			if r, err := open.Read(); err != nil || !bytes.Equal(r.GetValue(), p) {
				t.Fatalf("%s: stream-stream (Open) round trip %d: %d bytes, %v", name, i, len(r.GetValue()), err)
			}
		}
		open.DoneWriting()
		if _, err := open.Read(); err != io.EOF {
			t.Fatalf("%s: Open after DoneWriting: %v", name, err)
		}
		waitNoMessages(t, name)
	}
}

// TestProtobufMarshalFailures: a protobuf message that fails to marshal
// (a StringValue holding invalid UTF-8, which proto3 refuses) is marshalled
// only when core starts its batch on the copy-free path, and still ends
// each RPC as a failing serializer does in grpcio: INTERNAL "Exception
// serializing request!" on the client, "Failed to serialize response!" on
// the server.
func TestProtobufMarshalFailures(t *testing.T) {
	leakcheck.Check(t)
	bad := func() *sv { return &sv{Value: "\xff"} }
	_, addr := serve(t, nil, service("bad.B", map[string]*grpc.RpcMethodHandler{
		"Unary": grpc.TypedUnaryUnaryRpcMethodHandler(func(r *sv, _ *grpc.ServicerContext) (*sv, error) { return bad(), nil }),
		"Server": grpc.TypedUnaryStreamRpcMethodHandler(func(r *sv, _ *grpc.ServicerContext) iter.Seq2[*sv, error] {
			return grpc.Requests(wrapperspb.String("fine"), bad())
		}),
		"Bidi": grpc.TypedStreamStreamRpcMethodHandler(func(rs iter.Seq2[*sv, error], _ *grpc.ServicerContext) iter.Seq2[*sv, error] {
			return rs
		}),
	}))
	ch := dial(t, addr)
	to := grpc.WithTimeout(testTimeout)
	wantStatus := func(what string, err error, details string) {
		t.Helper()
		var re *grpc.RpcError
		if !errors.As(err, &re) || re.Code() != grpc.StatusCodeInternal || re.Details() != details {
			t.Errorf("%s: %v, want INTERNAL %q", what, err, details)
		}
	}
	unary := grpc.NewUnaryUnary[*sv, *sv](ch, "/bad.B/Unary")
	_, err := unary.Call(bad(), to)
	wantStatus("unary request", err, "Exception serializing request!")
	f, err := unary.Future(bad(), to)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result()
	wantStatus("unary Future request", err, "Exception serializing request!")
	_, err = unary.Call(wrapperspb.String("ok"), to)
	wantStatus("unary response", err, "Failed to serialize response!")

	server := grpc.NewUnaryStream[*sv, *sv](ch, "/bad.B/Server")
	it, err := server.Call(bad(), to)
	if err != nil {
		t.Fatal(err)
	}
	_, err = it.Next()
	wantStatus("unary-stream request", err, "Exception serializing request!")
	it, err = server.Call(wrapperspb.String("ok"), to)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := it.Next(); err != nil || r.GetValue() != "fine" {
		t.Fatalf("unary-stream first response: %v, %v", r, err)
	}
	_, err = it.Next()
	wantStatus("unary-stream response", err, "Failed to serialize response!")

	bidi := grpc.NewStreamStream[*sv, *sv](ch, "/bad.B/Bidi")
	bit, err := bidi.Call(grpc.Requests(wrapperspb.String("a"), bad()), to)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err = bit.Next(); err != nil {
			break
		}
	}
	wantStatus("stream-stream request", err, "Exception serializing request!")
	open, err := bidi.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	if err := open.Write(wrapperspb.String("a")); err != nil {
		t.Fatal(err)
	}
	wantStatus("Open Write", open.Write(bad()), "Exception serializing request!")
	waitNoMessages(t, "after the failures")
}

// TestRawBytesOwnedByTheUser: raw []byte users keep today's semantics on
// the copying paths: a received []byte is theirs (it survives later
// receives, here kept across a stream's responses and unary calls, and a
// deserializer may keep its input), and a sent []byte may be reused as
// soon as the send returns (overwritten right after Write, after the
// request iterator moved on, after Future returned) without changing what
// was sent.
func TestRawBytesOwnedByTheUser(t *testing.T) {
	leakcheck.Check(t)
	ch := copiesServer(t)
	to := grpc.WithTimeout(testTimeout)
	for _, n := range []int{32, 100 << 10} {
		rawUnary := ch.UnaryUnary("/copies.C/RawUnary")
		var kept [][]byte
		for i := range 3 {
			r, err := rawUnary.Call(payloadOf(n, i), to)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, r.([]byte))
		}
		buf := payloadOf(n, 10)
		f, err := rawUnary.Future(buf, to)
		if err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = 0xEE // the caller's buffer, reused at once
		}
		r, err := f.Result()
		if err != nil || !bytes.Equal(r.([]byte), payloadOf(n, 10)) {
			t.Fatalf("%d bytes: Future sent the buffer as mutated after the call returned (%v)", n, err)
		}
		for i, k := range kept {
			if !bytes.Equal(k, payloadOf(n, i)) {
				t.Fatalf("%d bytes: unary response %d changed after later calls", n, i)
			}
		}

		// A deserializer that keeps its input: the input is its own.
		keep := grpc.WithResponseDeserializer(func(b []byte) (any, error) { return b, nil })
		open, err := ch.StreamStream("/copies.C/RawBidi", keep).Open(to)
		if err != nil {
			t.Fatal(err)
		}
		buf = payloadOf(n, 20)
		kept = nil
		for i := range 4 {
			copy(buf, payloadOf(n, 20+i))
			if err := open.Write(buf); err != nil {
				t.Fatal(err)
			}
			for j := range buf {
				buf[j] = byte(j) ^ 0x55 // reused before the echo is read
			}
			r, err := open.Read()
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, r.([]byte))
		}
		open.DoneWriting()
		if _, err := open.Read(); err != io.EOF {
			t.Fatal(err)
		}
		for i, k := range kept {
			if !bytes.Equal(k, payloadOf(n, 20+i)) {
				t.Fatalf("%d bytes: echo %d is not what was written, or changed after later reads", n, i)
			}
		}

		// The request iterator: a buffer refilled for each request, which
		// grpcio's order (the next request is pulled once the send
		// completed) allows.
		shared := make([]byte, n)
		reqs := func(yield func(any, error) bool) {
			for i := range 3 {
				copy(shared, payloadOf(n, 30+i))
				if !yield(shared, nil) {
					return
				}
			}
		}
		it, err := ch.StreamStream("/copies.C/RawBidi").Call(reqs, to)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for r, err := range it.All() {
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(r.([]byte), payloadOf(n, 30+i)) {
				t.Fatalf("%d bytes: iterator echo %d differs from what was yielded", n, i)
			}
			i++
		}
		if i != 3 {
			t.Fatalf("%d bytes: %d echoes, want 3", n, i)
		}
	}
	waitNoMessages(t, "raw")
}
