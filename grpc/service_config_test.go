package grpc_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

// TestServiceConfigBuilder: the typed service config reaches the core
// (a per-method timeout and a retry policy take effect on real RPCs), a
// mistake is a *ValueError before the core sees it, and a JSON config the
// core rejects is a *ValueError at channel creation with the core's reason.
func TestServiceConfigBuilder(t *testing.T) {
	var attempts atomic.Int32
	_, target := serve(t, nil, service("test.SC", map[string]*grpc.RpcMethodHandler{
		"Slow": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			select {
			case <-ctx.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return req, nil
		}),
		"Flaky": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			if attempts.Add(1)%3 != 0 {
				ctx.Abort(grpc.StatusCodeUnavailable, "try again")
			}
			return req, nil
		}),
	}))
	cfg := grpc.ServiceConfig{
		LoadBalancingPolicy: "round_robin",
		MethodConfig: []grpc.MethodConfig{
			{Name: []grpc.MethodName{{Service: "test.SC", Method: "Slow"}}, Timeout: 200 * time.Millisecond},
			{Name: []grpc.MethodName{{Service: "test.SC", Method: "Flaky"}}, RetryPolicy: &grpc.RetryPolicy{
				MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
				BackoffMultiplier: 2, RetryableStatusCodes: []grpc.StatusCode{grpc.StatusCodeUnavailable}}},
		},
	}
	js, err := cfg.JSON()
	if err != nil || !strings.Contains(js, `"loadBalancingConfig":[{"round_robin":{}}]`) || !strings.Contains(js, `"timeout":"0.2s"`) {
		t.Fatalf("JSON: %s, %v", js, err)
	}
	ch := dial(t, target, grpc.WithServiceConfig(cfg))
	start := time.Now()
	_, err = ch.UnaryUnary("/test.SC/Slow").Call([]byte("x"), grpc.WithTimeout(testTimeout))
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeDeadlineExceeded || time.Since(start) > 4*time.Second {
		t.Fatalf("the config's 200 ms timeout: %v after %v", err, time.Since(start))
	}
	for i := range 5 {
		if _, err := ch.UnaryUnary("/test.SC/Flaky").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
			t.Fatalf("call %d with retries (every third attempt succeeds): %v", i, err)
		}
	}

	var ve *grpc.ValueError
	for _, bad := range []grpc.ServiceConfig{
		{MethodConfig: []grpc.MethodConfig{{Name: []grpc.MethodName{{}}, RetryPolicy: &grpc.RetryPolicy{MaxAttempts: 1}}}},
		{MethodConfig: []grpc.MethodConfig{{Name: []grpc.MethodName{{Method: "M"}}}}},
		{MethodConfig: []grpc.MethodConfig{{}}},
		{RetryThrottling: &grpc.RetryThrottling{MaxTokens: 0, TokenRatio: 1}},
		{MethodConfig: []grpc.MethodConfig{{Name: []grpc.MethodName{{}}, RetryPolicy: &grpc.RetryPolicy{MaxAttempts: 2,
			InitialBackoff: time.Second, MaxBackoff: time.Second, BackoffMultiplier: 1,
			RetryableStatusCodes: []grpc.StatusCode{grpc.StatusCodeOK}}}}},
	} {
		if _, err := grpc.InsecureChannel(target, grpc.WithServiceConfig(bad)); !errors.As(err, &ve) {
			t.Errorf("%+v: %v, want *grpc.ValueError", bad, err)
		}
	}
	// JSON the core itself rejects: its reason, at creation.
	_, err = grpc.InsecureChannel(target, grpc.Option("grpc.service_config", `{"loadBalancingConfig":[{"no_such_policy":{}}]}`))
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "No known policies in list: no_such_policy") {
		t.Fatalf("core-rejected config: %v", err)
	}
}
