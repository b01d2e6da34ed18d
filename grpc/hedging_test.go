package grpc_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

// TestHedgingPolicyDoesNotHedge pins down what core 1.51 does with a
// service config's hedgingPolicy: it accepts it and sends one attempt per
// RPC (docs/deployment.md says so). If a later core starts hedging, this
// test fails and the docs must change.
func TestHedgingPolicyDoesNotHedge(t *testing.T) {
	var attempts atomic.Int32
	_, target := serve(t, nil, service("test.H", map[string]*grpc.RpcMethodHandler{
		"Slow": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			attempts.Add(1)
			time.Sleep(300 * time.Millisecond)
			return req, nil
		}),
	}))
	const cfg = `{"methodConfig":[{"name":[{"service":"test.H"}],
		"hedgingPolicy":{"maxAttempts":3,"hedgingDelay":"0.05s","nonFatalStatusCodes":["UNAVAILABLE"]}}]}`
	ch := dial(t, target, grpc.Option("grpc.service_config", cfg))
	const rpcs = 5
	for range rpcs {
		if _, err := ch.UnaryUnary("/test.H/Slow").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // a late hedge would still arrive
	if n := attempts.Load(); n != rpcs {
		t.Fatalf("%d attempts for %d RPCs with a hedgingPolicy (maxAttempts 3, delay 50 ms); core 1.51 sends one each", n, rpcs)
	}
	t.Logf("hedgingPolicy accepted; %d attempts for %d RPCs: no hedging", attempts.Load(), rpcs)
}
