package grpc_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// rpcErr asserts err is an *RpcError with the given code and returns it.
func rpcErr(t *testing.T, err error, want grpc.StatusCode) *grpc.RpcError {
	t.Helper()
	var rerr *grpc.RpcError
	if !errors.As(err, &rerr) {
		t.Fatalf("err = %v (%T), want *RpcError %v", err, err, want)
	}
	if rerr.Code() != want {
		t.Fatalf("code = %v (details %q), want %v", rerr.Code(), rerr.Details(), want)
	}
	return rerr
}

func failingSerializer(any) ([]byte, error)   { return nil, errors.New("cannot serialize") }
func failingDeserializer([]byte) (any, error) { return nil, errors.New("cannot deserialize") }

func TestStatusSemantics(t *testing.T) {
	leakcheck.Check(t)
	var calls atomic.Int64
	methods := map[string]*grpc.RpcMethodHandler{
		"Echo": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			calls.Add(1)
			return req, nil
		}),
		"Panic": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			panic("boom")
		}),
		"Error": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			return nil, errors.New("handler failed")
		}),
		"BadRequestDeserializer": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			t.Error("behavior ran despite a failing request deserializer")
			return req, nil
		}, grpc.WithRequestDeserializer(failingDeserializer)),
		"PanickingRequestDeserializer": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			return req, nil
		}, grpc.WithRequestDeserializer(func([]byte) (any, error) { panic("deserializer panic") })),
		"BadResponseSerializer": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			return req, nil
		}, grpc.WithResponseSerializer(failingSerializer)),
		"NilResponse": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			return nil, nil
		}),
		"AbortOK": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.Abort(grpc.StatusCodeOK, "fine")
			t.Error("Abort returned")
			return req, nil
		}),
		"AbortNotFound": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.Abort(grpc.StatusCodeNotFound, "no such thing")
			return req, nil
		}),
		"AbortWithStatus": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.AbortWithStatus(grpc.Status{Code: grpc.StatusCodePermissionDenied, Details: "denied",
				TrailingMetadata: grpc.Pairs("why", "policy")})
			return req, nil
		}),
		"SetCode": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.SetCode(grpc.StatusCodeFailedPrecondition)
			ctx.SetDetails("not yet")
			return nil, nil
		}),
		"SetCodeThenError": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.SetCode(grpc.StatusCodeAlreadyExists)
			return nil, errors.New("ignored details")
		}),
	}
	_, target := serve(t, nil, service("test.S", methods))
	ch := dial(t, target)
	call := func(method string, opts ...grpc.MultiCallableOption) (any, error) {
		return ch.UnaryUnary("/test.S/"+method, opts...).Call([]byte("req"), grpc.WithTimeout(testTimeout))
	}

	t.Run("handler panic is UNKNOWN and the server keeps serving", func(t *testing.T) {
		_, err := call("Panic")
		r := rpcErr(t, err, grpc.StatusCodeUnknown)
		if r.Details() != "Exception calling application: boom" {
			t.Fatalf("details = %q", r.Details())
		}
		for i := 0; i < 3; i++ {
			if resp, err := call("Echo"); err != nil || string(resp.([]byte)) != "req" {
				t.Fatalf("Echo after a panic: %v %v", resp, err)
			}
		}
	})
	t.Run("handler error is UNKNOWN", func(t *testing.T) {
		_, err := call("Error")
		r := rpcErr(t, err, grpc.StatusCodeUnknown)
		if r.Details() != "Exception calling application: handler failed" {
			t.Fatalf("details = %q", r.Details())
		}
	})
	t.Run("request deserializer failure is INTERNAL", func(t *testing.T) {
		for _, m := range []string{"BadRequestDeserializer", "PanickingRequestDeserializer"} {
			_, err := call(m)
			if r := rpcErr(t, err, grpc.StatusCodeInternal); r.Details() != "Exception deserializing request!" {
				t.Fatalf("%s: details = %q", m, r.Details())
			}
		}
	})
	t.Run("response serializer failure is INTERNAL", func(t *testing.T) {
		for _, m := range []string{"BadResponseSerializer", "NilResponse"} {
			_, err := call(m)
			if r := rpcErr(t, err, grpc.StatusCodeInternal); r.Details() != "Failed to serialize response!" {
				t.Fatalf("%s: details = %q", m, r.Details())
			}
		}
	})
	t.Run("client response deserializer failure is INTERNAL", func(t *testing.T) {
		_, err := call("Echo", grpc.WithResponseDeserializer(failingDeserializer))
		if r := rpcErr(t, err, grpc.StatusCodeInternal); r.Details() != "Exception deserializing response!" {
			t.Fatalf("details = %q", r.Details())
		}
		_, err = call("Echo", grpc.WithResponseDeserializer(func([]byte) (any, error) { panic("x") }))
		rpcErr(t, err, grpc.StatusCodeInternal)
	})
	t.Run("client request serializer failure is INTERNAL and sends nothing", func(t *testing.T) {
		before := calls.Load()
		_, err := call("Echo", grpc.WithRequestSerializer(failingSerializer))
		if r := rpcErr(t, err, grpc.StatusCodeInternal); r.Details() != "Exception serializing request!" {
			t.Fatalf("details = %q", r.Details())
		}
		_, err = ch.UnaryUnary("/test.S/Echo").Call(42, grpc.WithTimeout(testTimeout))
		rpcErr(t, err, grpc.StatusCodeInternal)
		if calls.Load() != before {
			t.Fatal("a request that failed to serialize reached the server")
		}
	})
	t.Run("abort with OK is rejected as UNKNOWN with a reason", func(t *testing.T) {
		_, err := call("AbortOK")
		r := rpcErr(t, err, grpc.StatusCodeUnknown)
		if !strings.Contains(r.Details(), "abort() called with StatusCode.OK") {
			t.Fatalf("details = %q, want the reason", r.Details())
		}
	})
	t.Run("abort", func(t *testing.T) {
		_, err := call("AbortNotFound")
		if r := rpcErr(t, err, grpc.StatusCodeNotFound); r.Details() != "no such thing" {
			t.Fatalf("details = %q", r.Details())
		}
	})
	t.Run("abort with status carries trailing metadata", func(t *testing.T) {
		_, err := call("AbortWithStatus")
		r := rpcErr(t, err, grpc.StatusCodePermissionDenied)
		if r.Details() != "denied" || fmt.Sprint(r.TrailingMetadata().Get("why")) != "[policy]" {
			t.Fatalf("details = %q trailing = %v", r.Details(), r.TrailingMetadata())
		}
	})
	t.Run("set_code and set_details with no response", func(t *testing.T) {
		_, err := call("SetCode")
		if r := rpcErr(t, err, grpc.StatusCodeFailedPrecondition); r.Details() != "not yet" {
			t.Fatalf("details = %q", r.Details())
		}
	})
	t.Run("a code set before an error wins", func(t *testing.T) {
		_, err := call("SetCodeThenError")
		rpcErr(t, err, grpc.StatusCodeAlreadyExists)
	})
	t.Run("invalid metadata is refused before sending", func(t *testing.T) {
		before := calls.Load()
		for _, md := range []grpc.Metadata{
			grpc.Pairs("Bad Key", "v"),
			grpc.Pairs("UPPER", "v"),
			grpc.Pairs("", "v"),
			grpc.Pairs("ascii-only", "h\u00e9llo"),
			grpc.Pairs("ctl", "a\nb"),
		} {
			_, err := ch.UnaryUnary("/test.S/Echo").Call([]byte("x"), grpc.WithMetadata(md), grpc.WithTimeout(testTimeout))
			var verr *grpc.ValueError
			if !errors.As(err, &verr) || !strings.Contains(err.Error(), "metadata was invalid") {
				t.Fatalf("metadata %q: err = %v, want a ValueError about metadata", md, err)
			}
		}
		if calls.Load() != before {
			t.Fatal("an RPC with invalid metadata reached the server")
		}
	})
}

func TestBinaryMetadataRoundTrip(t *testing.T) {
	leakcheck.Check(t)
	methods := map[string]*grpc.RpcMethodHandler{
		"Reflect": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			var back grpc.Metadata
			for _, m := range ctx.InvocationMetadata() {
				if strings.HasPrefix(m.Key, "x-") {
					back = append(back, m)
				}
			}
			if err := ctx.SendInitialMetadata(grpc.Pairs("initial-key", "iv")); err != nil {
				return nil, err
			}
			if err := ctx.SendInitialMetadata(nil); err == nil {
				return nil, errors.New("second SendInitialMetadata was accepted")
			}
			if err := ctx.SetTrailingMetadata(back); err != nil {
				return nil, err
			}
			return req, nil
		}),
	}
	_, target := serve(t, nil, service("test.M", methods))
	ch := dial(t, target)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	md := grpc.Metadata{
		{Key: "x-data-bin", Value: string(all)},
		{Key: "x-text", Value: "plain ascii ~!"},
		{Key: "x-text", Value: "repeated"},
	}
	_, c, err := ch.UnaryUnary("/test.M/Reflect").WithCall([]byte("x"), grpc.WithMetadata(md), grpc.WithTimeout(testTimeout))
	if err != nil {
		t.Fatalf("WithCall: %v", err)
	}
	if got := c.InitialMetadata().Get("initial-key"); len(got) != 1 || got[0] != "iv" {
		t.Fatalf("initial metadata = %v", c.InitialMetadata())
	}
	tr := c.TrailingMetadata()
	if got := tr.Get("x-data-bin"); len(got) != 1 || got[0] != string(all) {
		t.Fatalf("binary value did not round-trip: %q", got)
	}
	if got := tr.Get("x-text"); fmt.Sprint(got) != "[plain ascii ~! repeated]" {
		t.Fatalf("x-text = %q", got)
	}
}

func TestDeadlineExceeded(t *testing.T) {
	leakcheck.Check(t)
	type seen struct {
		active    bool
		remaining time.Duration
		ok        bool
		ctxDone   bool
	}
	report := make(chan seen, 1)
	methods := map[string]*grpc.RpcMethodHandler{
		"Slow": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			if _, ok := ctx.TimeRemaining(); !ok {
				t.Error("handler sees no deadline")
			}
			// Poll is_active (the thing under test) with a bounded deadline;
			// waitFor cannot be used here: it calls t.Fatalf, and this runs
			// on a handler goroutine. The report below catches a timeout.
			stop := time.Now().Add(testTimeout)
			for ctx.IsActive() && time.Now().Before(stop) {
				time.Sleep(5 * time.Millisecond)
			}
			rem, ok := ctx.TimeRemaining()
			var done bool
			select {
			case <-ctx.Context().Done():
				done = true
			case <-time.After(time.Second):
			}
			report <- seen{ctx.IsActive(), rem, ok, done}
			return req, nil
		}),
	}
	_, target := serve(t, nil, service("test.D", methods))
	ch := dial(t, target)
	start := time.Now()
	_, err := ch.UnaryUnary("/test.D/Slow").Call([]byte("x"), grpc.WithTimeout(200*time.Millisecond))
	rpcErr(t, err, grpc.StatusCodeDeadlineExceeded)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("deadline of 200ms took %v to fire", el)
	}
	select {
	case s := <-report:
		if s.active || !s.ok || s.remaining != 0 || !s.ctxDone {
			t.Fatalf("handler after expiry saw is_active=%v time_remaining=(%v,%v) context done=%v; want false, (0,true), true",
				s.active, s.remaining, s.ok, s.ctxDone)
		}
	case <-time.After(testTimeout):
		t.Fatal("handler never noticed the expired deadline")
	}
}

func TestClosedChannel(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	methods := map[string]*grpc.RpcMethodHandler{
		"Echo":  echoHandler(),
		"Block": gate(release, func() { entered <- struct{}{} }),
	}
	_, target := serve(t, nil, service("test.C", methods))
	ch, err := grpc.InsecureChannel(target)
	if err != nil {
		t.Fatal(err)
	}
	defer close(release)
	if _, err := ch.UnaryUnary("/test.C/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
		t.Fatalf("Echo: %v", err)
	}
	fut, err := ch.UnaryUnary("/test.C/Block").Future([]byte("x"), grpc.WithTimeout(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	select { // the RPC is in flight: it has reached the handler
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("the Block RPC never reached the handler")
	}
	ch.Close()
	ch.Close() // idempotent
	_, err = fut.Result(testTimeout)
	if r := rpcErr(t, err, grpc.StatusCodeCancelled); r.Details() != "Channel closed!" {
		t.Fatalf("in-flight RPC on a closed channel: details %q", r.Details())
	}
	_, err = ch.UnaryUnary("/test.C/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout))
	if !errors.Is(err, grpc.ErrChannelClosed) {
		t.Fatalf("RPC on a closed channel: err = %v, want ErrChannelClosed", err)
	}
	if _, err := ch.UnaryUnary("/test.C/Echo").Future([]byte("x")); !errors.Is(err, grpc.ErrChannelClosed) {
		t.Fatalf("future on a closed channel: err = %v", err)
	}
}
