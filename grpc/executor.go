package grpc

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Executor stands for the futures.ThreadPoolExecutor grpc.server() takes as
// thread_pool: something that runs handlers. Submit returns an error if
// the executor no longer accepts work. The server calls a user Executor's
// Submit on a goroutine of its own, never on a poller, so a Submit that
// blocks (a bounded queue) delays only that RPC.
type Executor interface {
	Submit(fn func()) error
}

// ErrExecutorShutdown is returned by Submit after Shutdown.
var ErrExecutorShutdown = errors.New("grpc: cannot schedule new work after shutdown")

// ThreadPoolExecutor mirrors futures.ThreadPoolExecutor(max_workers): at
// most maxWorkers goroutines run submitted work; the rest waits in an
// unbounded FIFO queue, as in Python. With a server, it bounds how many
// handlers run at once; maximum_concurrent_rpcs bounds how many RPCs are
// admitted.
type ThreadPoolExecutor struct {
	max int
	err error // an invalid max_workers: Submit and NewServer return it

	mu       sync.Mutex
	queue    []func()
	workers  int
	shutdown bool
	idle     sync.WaitGroup
}

// NewThreadPoolExecutor mirrors ThreadPoolExecutor(max_workers=None):
// NewThreadPoolExecutor() has Python's default of min(32, CPUs + 4)
// workers, NewThreadPoolExecutor(10) ten. A max_workers of 0 or less is
// Python's ValueError "max_workers must be greater than 0": the executor
// refuses all work with that *ValueError, and NewServer given it returns
// it.
func NewThreadPoolExecutor(maxWorkers ...int) *ThreadPoolExecutor {
	switch {
	case len(maxWorkers) == 0:
		return &ThreadPoolExecutor{max: min(32, runtime.NumCPU()+4)}
	case len(maxWorkers) > 1:
		return &ThreadPoolExecutor{err: &ValueError{Msg: fmt.Sprintf("ThreadPoolExecutor takes one max_workers, got %d", len(maxWorkers))}}
	case maxWorkers[0] <= 0:
		return &ThreadPoolExecutor{err: &ValueError{Msg: "max_workers must be greater than 0"}}
	}
	return &ThreadPoolExecutor{max: maxWorkers[0]}
}

// MaxWorkers is the most goroutines that run submitted work at once.
func (e *ThreadPoolExecutor) MaxWorkers() int { return e.max }

// Submit mirrors submit(fn): queues fn and returns at once.
func (e *ThreadPoolExecutor) Submit(fn func()) error {
	if e.err != nil {
		return e.err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutdown {
		return ErrExecutorShutdown
	}
	e.queue = append(e.queue, fn)
	if e.workers < e.max {
		e.workers++
		e.idle.Add(1)
		go e.work()
	}
	return nil
}

func (e *ThreadPoolExecutor) work() {
	defer e.idle.Done()
	for {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.workers--
			e.mu.Unlock()
			return
		}
		fn := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		e.mu.Unlock()
		fn()
	}
}

// Shutdown mirrors shutdown(wait=True): no new work is accepted; with wait
// it blocks until queued work has run.
func (e *ThreadPoolExecutor) Shutdown(wait bool) {
	e.mu.Lock()
	e.shutdown = true
	e.mu.Unlock()
	if wait {
		e.idle.Wait()
	}
}
