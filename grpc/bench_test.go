package grpc_test

import (
	"iter"
	"strconv"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// benchChannel serves an echo method and returns its multi-callable.
func benchEcho(b *testing.B) *grpc.UnaryUnaryMultiCallable {
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler("bench.Echo",
		map[string]*grpc.RpcMethodHandler{"Unary": echoHandler()})))
	if err != nil {
		b.Fatal(err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	ch, err := grpc.InsecureChannel("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ch.Close()
		s.Stop(grpc.NoGrace)
	})
	mc := ch.UnaryUnary("/bench.Echo/Unary")
	if _, err := mc.Call([]byte("warm"), grpc.WithTimeout(testTimeout)); err != nil {
		b.Fatal(err)
	}
	return mc
}

// BenchmarkUnaryUnary is one blocking unary RPC of 32 bytes over loopback,
// client and server in this process (allocations are both sides').
func BenchmarkUnaryUnary(b *testing.B) {
	mc := benchEcho(b)
	payload := make([]byte, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := mc.Call(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryUnaryParallel keeps GOMAXPROCS*8 calls in flight on one channel.
func BenchmarkUnaryUnaryParallel(b *testing.B) {
	mc := benchEcho(b)
	payload := make([]byte, 32)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := mc.Call(payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUnaryUnaryFuture is one RPC through the Future path.
func BenchmarkUnaryUnaryFuture(b *testing.B) {
	mc := benchEcho(b)
	payload := make([]byte, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := mc.Future(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Result(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamPingPong is one round trip of 32 bytes on an open bidi
// stream (W3's unit).
func BenchmarkStreamPingPong(b *testing.B) {
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler("bench.Echo",
		map[string]*grpc.RpcMethodHandler{"Stream": grpc.StreamStreamRpcMethodHandler(
			func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] { return reqs })})))
	if err != nil {
		b.Fatal(err)
	}
	port, _ := s.AddInsecurePort("127.0.0.1:0")
	s.Start()
	defer s.Stop(grpc.NoGrace)
	ch, _ := grpc.InsecureChannel("127.0.0.1:" + strconv.Itoa(port))
	defer ch.Close()
	next := make(chan any)
	it, err := ch.StreamStream("/bench.Echo/Stream").Call(func(yield func(any, error) bool) {
		for v := range next {
			if !yield(v, nil) {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next <- payload
		if _, err := it.Next(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(next)
	for range it.All() {
	}
}

// BenchmarkStreamPingPongOpen is BenchmarkStreamPingPong driven with Open's
// Write and Read on the benchmark's goroutine (no request iterator).
func BenchmarkStreamPingPongOpen(b *testing.B) {
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler("bench.Echo",
		map[string]*grpc.RpcMethodHandler{"Stream": grpc.StreamStreamRpcMethodHandler(
			func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] { return reqs })})))
	if err != nil {
		b.Fatal(err)
	}
	port, _ := s.AddInsecurePort("127.0.0.1:0")
	s.Start()
	defer s.Stop(grpc.NoGrace)
	ch, _ := grpc.InsecureChannel("127.0.0.1:" + strconv.Itoa(port))
	defer ch.Close()
	call, err := ch.StreamStream("/bench.Echo/Stream").Open()
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := call.Write(payload); err != nil {
			b.Fatal(err)
		}
		if _, err := call.Read(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	call.DoneWriting()
	for range call.All() {
	}
}

// benchTyped serves typed protobuf echo methods (wrapperspb.BytesValue):
// /bench.Typed/Unary and /bench.Typed/Stream (bidi).
func benchTyped(b *testing.B) *grpc.Channel {
	echo := func(r *wrapperspb.BytesValue, _ *grpc.ServicerContext) (*wrapperspb.BytesValue, error) { return r, nil }
	s, err := grpc.NewServer(nil, grpc.WithHandlers(grpc.MethodHandlersGenericHandler("bench.Typed",
		map[string]*grpc.RpcMethodHandler{
			"Unary": grpc.TypedUnaryUnaryRpcMethodHandler(echo),
			"Stream": grpc.TypedStreamStreamRpcMethodHandler(
				func(reqs iter.Seq2[*wrapperspb.BytesValue, error], _ *grpc.ServicerContext) iter.Seq2[*wrapperspb.BytesValue, error] {
					return reqs
				}),
		})))
	if err != nil {
		b.Fatal(err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	ch, err := grpc.InsecureChannel("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ch.Close()
		s.Stop(grpc.NoGrace)
	})
	return ch
}

// BenchmarkTypedUnaryProto is BenchmarkUnaryUnary through the typed stubs
// with a protobuf message (a BytesValue of 32 bytes) both ways: the
// protobuf path of issue 17 item 2 (marshalled straight into core memory,
// unmarshalled from the core's slices).
func BenchmarkTypedUnaryProto(b *testing.B) {
	ch := benchTyped(b)
	mc := grpc.NewUnaryUnary[*wrapperspb.BytesValue, *wrapperspb.BytesValue](ch, "/bench.Typed/Unary")
	req := wrapperspb.Bytes(make([]byte, 32))
	if _, err := mc.Call(req, grpc.WithTimeout(testTimeout)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := mc.Call(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTypedStreamProto64K is one round trip of a 64 KiB BytesValue on
// an open typed bidi stream (Write, Read): W4's message through protobuf.
func BenchmarkTypedStreamProto64K(b *testing.B) {
	ch := benchTyped(b)
	call, err := grpc.NewStreamStream[*wrapperspb.BytesValue, *wrapperspb.BytesValue](ch, "/bench.Typed/Stream").Open()
	if err != nil {
		b.Fatal(err)
	}
	req := wrapperspb.Bytes(make([]byte, 64<<10))
	b.ReportAllocs()
	b.SetBytes(2 * 64 << 10)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := call.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := call.Read(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	call.DoneWriting()
	for range call.All() {
	}
}
