package grpc_test

import (
	"errors"
	"io"
	"iter"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type sv = wrapperspb.StringValue

// typedServer serves /typed.T/{Unary,Server,Client,Bidi} with typed
// handlers over wrapperspb.StringValue, and /typed.T/Raw as untyped echo.
func typedServer(t *testing.T) *grpc.Channel {
	t.Helper()
	upper := func(s *sv) *sv { return wrapperspb.String(strings.ToUpper(s.GetValue())) }
	_, addr := serve(t, nil, service("typed.T", map[string]*grpc.RpcMethodHandler{
		"Unary": grpc.TypedUnaryUnaryRpcMethodHandler(func(r *sv, _ *grpc.ServicerContext) (*sv, error) {
			if r.GetValue() == "none" {
				return nil, nil // Python's return None: the serializer refuses it
			}
			return upper(r), nil
		}),
		"Server": grpc.TypedUnaryStreamRpcMethodHandler(func(r *sv, _ *grpc.ServicerContext) iter.Seq2[*sv, error] {
			return func(yield func(*sv, error) bool) {
				for _, c := range r.GetValue() {
					if !yield(wrapperspb.String(string(c)), nil) {
						return
					}
				}
			}
		}),
		"Client": grpc.TypedStreamUnaryRpcMethodHandler(func(rs iter.Seq2[*sv, error], _ *grpc.ServicerContext) (*sv, error) {
			var b strings.Builder
			for r, err := range rs {
				if err != nil {
					return nil, err
				}
				b.WriteString(r.GetValue())
			}
			return wrapperspb.String(b.String()), nil
		}),
		"Bidi": grpc.TypedStreamStreamRpcMethodHandler(func(rs iter.Seq2[*sv, error], _ *grpc.ServicerContext) iter.Seq2[*sv, error] {
			return func(yield func(*sv, error) bool) {
				for r, err := range rs {
					if err != nil || !yield(upper(r), nil) {
						return
					}
				}
			}
		}),
		"Raw": echoHandler(),
	}))
	return dial(t, addr)
}

func TestTypedMultiCallables(t *testing.T) {
	ch := typedServer(t)
	to := grpc.WithTimeout(testTimeout)

	unary := grpc.NewUnaryUnary[*sv, *sv](ch, "/typed.T/Unary")
	r, err := unary.Call(wrapperspb.String("abc"), to)
	if err != nil || r.GetValue() != "ABC" {
		t.Fatalf("Call: %v, %v", r, err)
	}
	r, call, err := unary.WithCall(wrapperspb.String("x"), to)
	if err != nil || r.GetValue() != "X" || call.Code() != grpc.StatusCodeOK {
		t.Fatalf("WithCall: %v, %v, %v", r, call, err)
	}
	// A handler returning no response fails as in grpcio (its serializer
	// is called on None): INTERNAL "Failed to serialize response!".
	var rpcErr *grpc.RpcError
	if r, err := unary.Call(wrapperspb.String("none"), to); !errors.As(err, &rpcErr) ||
		rpcErr.Code() != grpc.StatusCodeInternal || rpcErr.Details() != "Failed to serialize response!" || r != nil {
		t.Fatalf("nil response: %v, %v; want nil and INTERNAL \"Failed to serialize response!\"", r, err)
	}
	f, err := unary.Future(wrapperspb.String("fut"), to)
	if err != nil {
		t.Fatal(err)
	}
	var cbSaw atomic.Value
	done := make(chan struct{})
	f.AddDoneCallback(func(f *grpc.TypedCallFuture[*sv]) {
		r, _ := f.Result()
		cbSaw.Store(r.GetValue())
		close(done)
	})
	if r, err := f.Result(); err != nil || r.GetValue() != "FUT" {
		t.Fatalf("Future.Result: %v, %v", r, err)
	}
	<-done
	if cbSaw.Load() != "FUT" {
		t.Fatalf("done callback saw %v", cbSaw.Load())
	}

	server := grpc.NewUnaryStream[*sv, *sv](ch, "/typed.T/Server")
	it, err := server.Call(wrapperspb.String("abc"), to)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r, err := range it.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.GetValue())
	}
	if strings.Join(got, ",") != "a,b,c" || it.Code() != grpc.StatusCodeOK {
		t.Fatalf("UnaryStream: %v %v", got, it.Code())
	}

	client := grpc.NewStreamUnary[*sv, *sv](ch, "/typed.T/Client")
	if r, err := client.Call(grpc.Requests(wrapperspb.String("a"), wrapperspb.String("b")), to); err != nil || r.GetValue() != "ab" {
		t.Fatalf("StreamUnary: %v, %v", r, err)
	}
	seq := func(yield func(*sv) bool) {
		for _, s := range []string{"x", "y", "z"} {
			if !yield(wrapperspb.String(s)) {
				return
			}
		}
	}
	cf, err := client.Future(grpc.RequestsFrom(seq), to)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := cf.Result(); err != nil || r.GetValue() != "xyz" {
		t.Fatalf("StreamUnary future: %v, %v", r, err)
	}

	bidi := grpc.NewStreamStream[*sv, *sv](ch, "/typed.T/Bidi")
	bit, err := bidi.Call(grpc.Requests(wrapperspb.String("p"), wrapperspb.String("q")), to)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for {
		r, err := bit.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.GetValue())
	}
	if strings.Join(got, ",") != "P,Q" {
		t.Fatalf("StreamStream: %v", got)
	}
	open, err := bidi.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"m", "n"} {
		if err := open.Write(wrapperspb.String(s)); err != nil {
			t.Fatal(err)
		}
		if r, err := open.Read(); err != nil || r.GetValue() != strings.ToUpper(s) {
			t.Fatalf("Open Read: %v, %v", r, err)
		}
	}
	open.DoneWriting()
	if _, err := open.Read(); err != io.EOF {
		t.Fatalf("Open after DoneWriting: %v, want io.EOF", err)
	}
}

// TestTypedWrongResponseType: a deserializer yielding another type is a
// *TypeError from every typed form, never a panic.
func TestTypedWrongResponseType(t *testing.T) {
	ch := typedServer(t)
	to := grpc.WithTimeout(testTimeout)
	wrong := grpc.WithResponseDeserializer(func(b []byte) (any, error) { return string(b), nil })
	var te *grpc.TypeError

	u := grpc.NewUnaryUnary[*sv, *sv](ch, "/typed.T/Unary", wrong)
	if _, err := u.Call(wrapperspb.String("a"), to); !errors.As(err, &te) {
		t.Fatalf("Call: %v, want *grpc.TypeError", err)
	}
	f, err := u.Future(wrapperspb.String("a"), to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(); !errors.As(err, &te) {
		t.Fatalf("Future.Result: %v, want *grpc.TypeError", err)
	}
	s := grpc.NewUnaryStream[*sv, *sv](ch, "/typed.T/Server", wrong)
	it, err := s.Call(wrapperspb.String("abc"), to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := it.Next(); !errors.As(err, &te) {
		t.Fatalf("Next: %v, want *grpc.TypeError", err)
	}
	if it.Code() != grpc.StatusCodeCancelled {
		t.Fatalf("after a wrong-typed response the RPC ends %v, want CANCELLED", it.Code())
	}

	// Raw bytes: no serializers, the values travel as they are.
	raw := grpc.NewUnaryUnary[[]byte, []byte](ch, "/typed.T/Raw")
	if r, err := raw.Call([]byte("raw"), to); err != nil || string(r) != "raw" {
		t.Fatalf("raw: %q, %v", r, err)
	}
}

// TestTypedThroughInterceptors: typed calls go through the channel's
// interceptors exactly as untyped ones do.
func TestTypedThroughInterceptors(t *testing.T) {
	ch := typedServer(t)
	var seen atomic.Int32
	ic, err := grpc.InterceptChannel(ch, grpc.UnaryUnaryClientInterceptorFunc(
		func(cont grpc.UnaryUnaryContinuation, d *grpc.ClientCallDetails, req any) (grpc.CallFuture, error) {
			seen.Add(1)
			return cont(d, req)
		}))
	if err != nil {
		t.Fatal(err)
	}
	u := grpc.NewUnaryUnary[*sv, *sv](ic, "/typed.T/Unary")
	if r, err := u.Call(wrapperspb.String("i"), grpc.WithTimeout(testTimeout)); err != nil || r.GetValue() != "I" {
		t.Fatalf("%v, %v", r, err)
	}
	if seen.Load() != 1 {
		t.Fatalf("interceptor ran %d times", seen.Load())
	}
}
