package grpc_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		runHelperServer() // this process is a test's peer, not a test run
		return
	}
	leakcheck.Main(m)
}

// testTimeout bounds every RPC a test makes, so nothing can hang CI.
const testTimeout = 20 * time.Second

// serve starts a server on 127.0.0.1 with a kernel-chosen port and the
// given handlers; it is stopped (no grace) when the test ends.
func serve(t *testing.T, pool grpc.Executor, handlers []grpc.GenericRpcHandler, opts ...grpc.ServerOption) (*grpc.Server, string) {
	t.Helper()
	opts = append([]grpc.ServerOption{grpc.WithHandlers(handlers...)}, opts...)
	s, err := grpc.NewServer(pool, opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatalf("AddInsecurePort: %v", err)
	}
	if port <= 0 {
		t.Fatalf("AddInsecurePort returned port %d", port)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if !s.Stop(0).Wait(testTimeout) {
			t.Errorf("server did not stop within %v", testTimeout)
		}
	})
	return s, fmt.Sprintf("127.0.0.1:%d", port)
}

// dial opens an insecure channel closed when the test ends.
func dial(t *testing.T, target string, options ...grpc.ChannelOption) *grpc.Channel {
	t.Helper()
	ch, err := grpc.InsecureChannel(target, options...)
	if err != nil {
		t.Fatalf("InsecureChannel: %v", err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

func service(name string, methods map[string]*grpc.RpcMethodHandler) []grpc.GenericRpcHandler {
	return []grpc.GenericRpcHandler{grpc.MethodHandlersGenericHandler(name, methods)}
}

func echoHandler() *grpc.RpcMethodHandler {
	return grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
		return req, nil
	})
}
