package health_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/health"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// rpcTimeout bounds every RPC and every foreign client's run.
const rpcTimeout = 30 * time.Second

// server is a running grpcpy server with a health servicer.
type server struct {
	*grpc.Server
	target string
}

// serve starts a server on 127.0.0.1 (kernel-chosen port) with servicer
// registered, on a thread pool of workers; it stops when the test ends.
func serve(t *testing.T, servicer health.Servicer, workers int) *server {
	t.Helper()
	leakcheck.Check(t)
	pool := grpc.NewThreadPoolExecutor(workers)
	s, err := grpc.NewServer(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop(grpc.NoGrace)
		pool.Shutdown(true)
	})
	if err := health.AddHealthServicerToServer(servicer, s); err != nil {
		t.Fatal(err)
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return &server{s, fmt.Sprintf("127.0.0.1:%d", port)}
}

// dial opens a channel to target, closed when the test ends.
func dial(t *testing.T, target string) *grpc.Channel {
	t.Helper()
	ch, err := grpc.InsecureChannel(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch
}

// code is the status code of an RPC's error (OK for nil).
func code(t *testing.T, err error) grpc.StatusCode {
	t.Helper()
	if err == nil {
		return grpc.StatusCodeOK
	}
	var e *grpc.RpcError
	if !errors.As(err, &e) {
		t.Fatalf("not an *RpcError: %T %v", err, err)
	}
	return e.Code()
}

// next reads the next status of a Watch stream.
func next(t *testing.T, it *grpc.TypedCallIterator[*health.HealthCheckResponse]) health.ServingStatus {
	t.Helper()
	resp, err := it.Next()
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return resp.GetStatus()
}

// ended reads a Watch stream that must end and returns its error (an
// *RpcError, or nil for OK).
func ended(t *testing.T, it *grpc.TypedCallIterator[*health.HealthCheckResponse]) error {
	t.Helper()
	resp, err := it.Next()
	if err == nil {
		t.Fatalf("Watch went on: %v", resp.GetStatus())
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// root is the repository root (this file is grpc/health).
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// tool is the path of a foreign command-line tool installed by
// scripts/foreign-tools.sh ($GRPCPY_TOOLS or bin/tools).
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("GRPCPY_TOOLS")
	if dir == "" {
		dir = filepath.Join(root(), "bin", "tools")
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (%v): run scripts/foreign-tools.sh, which installs it into bin/tools", name, err)
	}
	return path
}
