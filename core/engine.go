// Package core is grpcpy's engine: the pure-Go counterpart of grpcio's
// _channel.py/_server.py internals. It owns the completion queues and their
// pollers, client calls, server calls and the server's accept loop. It
// speaks to the C core only through package cgo.
//
// # Pollers
//
// A small fixed set of "next" completion queues (one per 4 GOMAXPROCS, at
// least 1, at most 8) is shared by every channel and server of the process, each drained by
// one goroutine blocked in grpc_completion_queue_next. Calls pick a queue
// round-robin. A goroutine waiting for an RPC waits on a Go channel, never
// in C, so OS threads stay bounded by the poller count whatever the number
// of calls in flight (grpcio's per-call "segregated" queues hold one thread
// per blocked call instead).
//
// Completion targets run on the poller: they copy results out of C memory
// and hand off (close a channel, start a goroutine). They never block and
// never run user code.
package core

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/grpcpy/grpcpy/cgo"
)

// Completer receives the completion of a tag. Complete runs on a poller
// goroutine; ev.Batch's results are valid only until it returns.
type Completer interface {
	Complete(ev cgo.Event)
}

// Engine is the set of shared completion queues and their pollers.
type Engine struct {
	cqs []cgo.CQ
	rr  atomic.Uint32
	wg  sync.WaitGroup
}

var (
	engMu  sync.Mutex
	engine atomic.Pointer[Engine]
)

// Pollers is the number of completion queues (and poller goroutines) the
// engine starts; 0 means GOMAXPROCS/4, at least 1 and at most 8. Set it before first use; the
// environment variable GRPCPY_POLLERS overrides it.
var Pollers int

// Default returns the process engine, starting it on first use.
func Default() *Engine {
	if e := engine.Load(); e != nil {
		return e
	}
	engMu.Lock()
	defer engMu.Unlock()
	if e := engine.Load(); e != nil {
		return e
	}
	cgo.Init()
	n := Pollers
	if v, err := strconv.Atoi(os.Getenv("GRPCPY_POLLERS")); err == nil && v > 0 {
		n = v
	}
	if n <= 0 {
		// The core's epoll1 engine lets one thread poll epoll at a time and
		// kicks the others through a condition variable: each extra queue
		// adds a hand-off. One queue per 4 cores (min 1, max 8) measured
		// best on 2 cores (W1 +30%, W3 +38% over 2 queues; docs/performance.md).
		n = min(max(runtime.GOMAXPROCS(0)/4, 1), 8)
	}
	e := &Engine{}
	for range n {
		q := cgo.NewCQ()
		e.cqs = append(e.cqs, q)
		e.wg.Add(1)
		go e.poll(q)
	}
	engine.Store(e)
	return e
}

// Shutdown stops the pollers and destroys the queues (shutdown, drain,
// destroy). Every channel, call and server must be closed first. The next
// Default starts a fresh engine. Meant for tests and orderly exits.
func Shutdown() {
	engMu.Lock()
	defer engMu.Unlock()
	e := engine.Swap(nil)
	if e == nil {
		return
	}
	for _, q := range e.cqs {
		q.Shutdown()
	}
	e.wg.Wait()
	for _, q := range e.cqs {
		q.Destroy()
	}
}

// CQs returns every queue, for servers, which register all of them.
func (e *Engine) CQs() []cgo.CQ { return e.cqs }

// Pick returns the next queue round-robin.
func (e *Engine) Pick() cgo.CQ {
	return e.cqs[int(e.rr.Add(1))%len(e.cqs)]
}

func (e *Engine) poll(q cgo.CQ) {
	defer e.wg.Done()
	var prev cgo.Batch
	block := true
	for {
		ev := q.Next(prev, block) // frees prev
		prev = cgo.Batch{}
		switch ev.Type {
		case cgo.QueueShutdown:
			return
		case cgo.QueueTimeout:
			// Drained: let the goroutines just readied run on this thread now,
			// then block. Without the yield a readied goroutine waits in this
			// P's runnext slot while the poller blocks in C holding the P,
			// until another thread wakes to steal it (or sysmon retakes the P
			// after 20 µs): measured 28 µs per completion hand-off without,
			// 6 µs with (BenchmarkPollerRoundTrip). Yielding only once the
			// queue is empty keeps a loaded poller from queueing behind the
			// goroutines it readied.
			runtime.Gosched()
			block = true
		case cgo.OpComplete:
			ev.Batch.Take().(Completer).Complete(ev)
			prev = ev.Batch
			block = false // look for more before yielding
		}
	}
}

// Live reports the C objects alive now (see cgo.LiveCounts).
func Live() cgo.Live { return cgo.LiveCounts() }
