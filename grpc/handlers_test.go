package grpc_test

import (
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// A GenericRpcHandler sees HandlerCallDetails (method and invocation
// metadata) before any handler runs; handlers are consulted in order and
// the first non-nil answer wins.
func TestGenericHandlerSeesCallDetails(t *testing.T) {
	leakcheck.Check(t)
	seen := make(chan grpc.HandlerCallDetails, 4)
	byTenant := grpc.GenericRpcHandlerFunc(func(d *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
		seen <- *d
		if len(d.InvocationMetadata.Get("tenant")) == 0 {
			return nil // fall through to the next handler
		}
		return grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			return []byte("tenant:" + ctx.InvocationMetadata().Get("tenant")[0]), nil
		})
	})
	svc := grpc.MethodHandlersGenericHandler("test.Any", map[string]*grpc.RpcMethodHandler{
		"Call": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			return []byte("service"), nil
		}),
	})
	if svc.ServiceName() != "test.Any" {
		t.Fatalf("ServiceName = %q", svc.ServiceName())
	}
	_, target := serve(t, nil, []grpc.GenericRpcHandler{byTenant, svc})
	mc := dial(t, target).UnaryUnary("/test.Any/Call")

	resp, err := mc.Call([]byte("x"), grpc.WithMetadata(grpc.Pairs("tenant", "blue")), grpc.WithTimeout(testTimeout))
	if err != nil || string(resp.([]byte)) != "tenant:blue" {
		t.Fatalf("with tenant: %v %v", resp, err)
	}
	d := <-seen
	if d.Method != "/test.Any/Call" || d.InvocationMetadata.Get("tenant")[0] != "blue" {
		t.Fatalf("details = %+v", d)
	}
	resp, err = mc.Call([]byte("x"), grpc.WithTimeout(testTimeout))
	if err != nil || string(resp.([]byte)) != "service" {
		t.Fatalf("without tenant: %v %v", resp, err)
	}
	<-seen
	// A handler whose streaming flags select a nil behavior is not served.
	if h := svc.Service(&grpc.HandlerCallDetails{Method: "/test.Any/Nope"}); h != nil {
		t.Fatal("unknown method found")
	}
}

func TestClientCallTimeRemaining(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	defer close(release)
	_, target := serve(t, nil, service("test.R", map[string]*grpc.RpcMethodHandler{"Gate": gate(release)}))
	mc := dial(t, target).UnaryUnary("/test.R/Gate")
	f, err := mc.Future([]byte("x"), grpc.WithTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rem, ok := f.TimeRemaining()
	if !ok || rem <= 59*time.Minute || rem > time.Hour {
		t.Fatalf("TimeRemaining = %v, %v", rem, ok)
	}
	f.Cancel()
	g, err := mc.Future([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.TimeRemaining(); ok {
		t.Fatal("call without timeout reports a deadline")
	}
	g.Cancel()
}
