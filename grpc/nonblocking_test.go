package grpc_test

import (
	"iter"
	"sync/atomic"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// countingExecutor runs work on goroutines of its own and counts it.
type countingExecutor struct{ n atomic.Int32 }

func (e *countingExecutor) Submit(fn func()) error {
	e.n.Add(1)
	go fn()
	return nil
}

// TestExperimentalNonBlocking: the response streams of a handler marked
// ExperimentalNonBlocking (grpcio's experimental_non_blocking) do not
// hold the server's workers: three streams waiting for changes on a
// one-worker pool, and a unary call is still answered. With
// ExperimentalThreadPool the behavior runs on that executor. The server's
// stop (serve's cleanup) ends the streams.
func TestExperimentalNonBlocking(t *testing.T) {
	for _, c := range []struct {
		name        string
		nonBlocking bool
		own         *countingExecutor
	}{{"non-blocking", true, nil}, {"thread pool", false, &countingExecutor{}}, {"both", true, &countingExecutor{}}} {
		t.Run(c.name, func(t *testing.T) {
			leakcheck.Check(t)
			pool := grpc.NewThreadPoolExecutor(1)
			t.Cleanup(func() { pool.Shutdown(true) })
			wait := grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
				return func(yield func(any, error) bool) {
					if yield(req, nil) {
						<-ctx.Context().Done()
					}
				}
			})
			wait.ExperimentalNonBlocking = c.nonBlocking
			if c.own != nil {
				wait.ExperimentalThreadPool = c.own
			}
			_, target := serve(t, pool, service("test.NB", map[string]*grpc.RpcMethodHandler{"Wait": wait, "Echo": echoHandler()}))
			ch := dial(t, target)
			for range 3 {
				it, err := ch.UnaryStream("/test.NB/Wait").Call([]byte("x"), grpc.WithTimeout(testTimeout))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := it.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if resp, err := ch.UnaryUnary("/test.NB/Echo").Call([]byte("y"), grpc.WithTimeout(testTimeout)); err != nil || string(resp.([]byte)) != "y" {
				t.Fatalf("Echo beside 3 open streams on 1 worker: %q, %v", resp, err)
			}
			if c.own != nil && c.own.n.Load() != 3 {
				t.Errorf("ExperimentalThreadPool ran %d behaviors, want 3", c.own.n.Load())
			}
		})
	}
}
