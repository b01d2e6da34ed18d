// Package core is grpcpy's engine: the pure-Go counterpart of grpcio's
// _channel.py/_server.py internals. It owns the completion queues and their
// pollers, client calls, server calls and the server's accept loop. It
// speaks to the C core only through package cgo.
//
// # The invariant
//
// While any tag is pending on a queue, some goroutine is polling it or
// will be woken. Every tag (batch, request-call slot, connectivity watch,
// shutdown notice) is posted through queue.post, which keeps it: a waited
// batch's waiter polls or parks in Op.Wait; a tag nobody waits for is
// counted (queue.unwaited) before it is posted and announced after, and
// while any is counted a standing-by poller ticks.
//
// # Pollers
//
// A small fixed set of "next" completion queues (one per 4 GOMAXPROCS, at
// least 1, at most 8) is shared by every channel and server of the process, each drained by
// one goroutine blocked in grpc_completion_queue_next. Calls pick a queue
// round-robin. A goroutine waiting for an RPC parks on a Go channel or,
// holding the queue's token, polls it itself (below); only the token's
// holder is in the core's poll, so OS threads stay bounded by the queue
// count whatever the number of calls in flight (grpcio's per-call
// "segregated" queues hold one thread per blocked call instead).
//
// Completion targets run on the token's holder (the poller or an inline
// waiter): they copy results out of C memory and hand off (close a
// channel, start a goroutine). They never block on a lock held across a
// C call and never run user code.
//
// # Inline polling (leader/follower)
//
// Each queue has a polling token. A goroutine that waits for its own batch
// (Op.Wait) and finds the token free takes it and calls
// grpc_completion_queue_next itself until its batch completes, delivering
// any other completions on the way; its own result then needs no hand-off
// at all. The queue's dedicated poller holds the token the rest of the
// time, and stands by (parked in Go, token free) right after it has
// readied a goroutine that waits this way, since that goroutine usually
// comes back to wait again within microseconds (a client issuing calls one
// after another, a streaming handler). While it stands by nobody may be
// polling, so starts of batches nobody will wait for wake it, and, while
// such tags are pending (queue.unwaited), a tick (PollHandoff, 1 ms) takes
// the token back if it is left free. At most one
// thread per queue is inside the core's poll, so OS threads stay bounded.
// Why: every goroutine the poller readies also wakes an idle P's thread
// (wakep), and on 2 cores W3 ran 35% faster with GOMAXPROCS=1, where no P
// is idle. Measured, medians of 6 interleaved runs on 2 cores: W1 +11%;
// W3's server does 2.3 context switches per round trip instead of 3.9 and
// 0.1 futex calls instead of 2.6, but W3 as a whole gains only ~2%, since
// its client has two goroutines (request sender, reader) waiting on one
// call at once. Only a lone waiter is handed the token: with many in
// flight (W2) the poller keeps it. GRPCPY_INLINE_POLL=0 turns it off.
package core

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

// Completer receives the completion of a tag. Complete runs on a poller
// goroutine; ev.Batch's results are valid only until it returns.
type Completer interface {
	Complete(ev cgo.Event)
}

// Engine is the set of shared completion queues and their pollers.
type Engine struct {
	qs []*queue
	rr atomic.Uint32
	wg sync.WaitGroup
}

var (
	engMu  sync.Mutex
	engine atomic.Pointer[Engine]
)

// Pollers is the number of completion queues (and poller goroutines) the
// engine starts; 0 means GOMAXPROCS/4, at least 1 and at most 8. Set it before first use; the
// environment variable GRPCPY_POLLERS overrides it.
var Pollers int

// PollHandoff is how long a queue's token may stay free, after its poller
// handed it to a waiting goroutine, before the poller takes it back
// (inline polling, see the package doc). Set it before first use; the
// environment variable GRPCPY_POLL_HANDOFF_US overrides it.
var PollHandoff = time.Millisecond

// inlinePoll enables inline polling (GRPCPY_INLINE_POLL=0 disables it).
var inlinePoll = os.Getenv("GRPCPY_INLINE_POLL") != "0"

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
	tick := PollHandoff
	if v, err := strconv.Atoi(os.Getenv("GRPCPY_POLL_HANDOFF_US")); err == nil && v > 0 {
		tick = time.Duration(v) * time.Microsecond
	}
	e := &Engine{}
	for range n {
		cq := cgo.NewCQ()
		q := &queue{cq: cq, src: cq, wake: make(chan struct{}, 1), tick: tick, held: true}
		e.qs = append(e.qs, q)
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
	for _, q := range e.qs {
		q.cq.Shutdown()
		q.mu.Lock()
		q.shut = true
		q.mu.Unlock()
		q.wakePoller()
	}
	e.wg.Wait()
	for _, q := range e.qs {
		q.cq.Destroy()
	}
}

// CQs returns every queue, for servers, which register all of them.
func (e *Engine) CQs() []cgo.CQ {
	cqs := make([]cgo.CQ, len(e.qs))
	for i, q := range e.qs {
		cqs[i] = q.cq
	}
	return cqs
}

// pick returns the next queue round-robin.
func (e *Engine) pick() *queue {
	return e.qs[int(e.rr.Add(1))%len(e.qs)]
}

// eventSource is the one core call the polling loops make: cgo.CQ's Next
// (grpc_completion_queue_next, freeing prev). It is an interface so the
// engine's hand-off, counting and shutdown logic can be unit-tested on a
// fake (engine_test.go); BenchmarkPollerRoundTrip measures what the
// indirection costs.
type eventSource interface {
	Next(prev cgo.Batch, block bool) cgo.Event
}

// queue is one shared completion queue and its polling token.
type queue struct {
	cq   cgo.CQ        // the core queue: calls, slots and watches are posted on it
	src  eventSource   // what serve and pollFor poll: cq, or a test's fake
	wake chan struct{} // capacity 1: wakes the standing-by poller
	tick time.Duration

	parked atomic.Int64 // goroutines parked in Op.Wait: someone must poll for them
	// unwaited counts posted tags nobody will Wait for (completion hooks,
	// request-call slots, watches, shutdown notices): while it is zero every
	// pending completion has a waiter that polls or parks, so a standing-by
	// poller needs no tick.
	unwaited atomic.Int64
	yielded  atomic.Int64 // monotonic() of an inline waiter's last Gosched

	mu    sync.Mutex
	held  bool // the token is taken: its holder is in, or about to call, cq_next
	dirty bool // a batch nobody waits for was started while the token was held
	shut  bool
}

// poll is the queue's dedicated poller. It starts holding the token.
func (e *Engine) poll(q *queue) {
	defer e.wg.Done()
	t := time.NewTimer(q.tick)
	t.Stop()
	for {
		if q.serve() {
			return // the queue is shut down
		}
		// It readied a lone waiter: stand by, token free, unless batches
		// nobody waits for were started or a waiter parked meanwhile.
		q.mu.Lock()
		if q.dirty || q.shut || q.parked.Load() > 0 { // (a waiter parked since the check)
			q.dirty = false
			q.mu.Unlock()
			continue
		}
		q.held = false
		q.mu.Unlock()
		for !q.resume(t) {
		}
	}
}

// serve polls with the token until the queue shuts down (true) or, with
// inline polling, a drain readied a goroutine parked in Op.Wait and left
// none parked (false): that goroutine takes the token when it next waits.
func (q *queue) serve() bool {
	var prev cgo.Batch
	block := true
	readied := 0
	for {
		ev := q.src.Next(prev, block) // frees prev
		prev = cgo.Batch{}
		switch ev.Type {
		case cgo.QueueShutdown:
			return true
		case cgo.QueueTimeout:
			// Only a lone waiter (one readied, none parked: a client making
			// calls one after another, a streaming handler) is handed the
			// token; with many in flight every hand-back would cost the
			// wake it saves (W2 at 256 in flight lost 8% in an A/B run).
			if readied == 1 && inlinePoll && q.parked.Load() == 0 {
				// The readied goroutine runs on this thread as the poller
				// parks, and takes the token when it next waits.
				return false
			}
			readied = 0
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
			c := q.deliver(ev)
			if o, ok := c.(*Op); ok && o.wasParked {
				readied++
			}
			prev = ev.Batch
			block = false // look for more before yielding
		}
	}
}

// yieldEvery bounds how long inline waiters on a queue go without passing
// through the scheduler (sysmon's threshold is 10 ms).
const yieldEvery = int64(2 * time.Millisecond)

var monoBase = time.Now()

// monotonic is nanoseconds on the monotonic clock.
func monotonic() int64 { return int64(time.Since(monoBase)) }

// deliver runs a completion's target and accounts for unwaited tags.
func (q *queue) deliver(ev cgo.Event) Completer {
	c := ev.Batch.Take().(Completer)
	if o, ok := c.(*Op); ok {
		// A late orphan's accounting was done when it was given up on.
		if o.complete(ev) && o.unwaited {
			q.unwaited.Add(-1)
		}
		return c
	}
	c.Complete(ev)
	q.unwaited.Add(-1)
	return c
}

// resume parks the standing-by poller until it is woken or, if tags
// nobody waits for are pending, its tick fires; then it takes the token
// back if it is free (true). Without pending unwaited tags it does not
// tick: a lone client between calls costs no wake-ups (the tick's 1,000
// wakes a second each set off a P hand-off and sysmon's 20 µs polling).
func (q *queue) resume(t *time.Timer) bool {
	if q.unwaited.Load() > 0 {
		t.Reset(q.tick)
		select {
		case <-q.wake:
			t.Stop()
		case <-t.C:
		}
	} else {
		<-q.wake
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.held && !q.shut {
		return false // a waiter polls; check again later
	}
	q.held = true
	return true
}

func (q *queue) wakePoller() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// acquireOrPark takes the token for o's waiter if it is free (true);
// otherwise it counts the waiter as parked (unless o is already done), so
// that the holder does not leave the queue unpolled.
func (q *queue) acquireOrPark(o *Op) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if inlinePoll && !q.held && !q.shut && q.parked.Load() == 0 {
		// (With goroutines parked, the poller is being woken for them.)
		q.held = true
		return true
	}
	if o.state.CompareAndSwap(opRunning, opParked) {
		q.parked.Add(1)
	}
	return false
}

// release returns an inline waiter's token. The poller is woken if
// goroutines are parked waiting or batches nobody waits for were started
// meanwhile: someone must go on polling for them.
func (q *queue) release() {
	q.mu.Lock()
	q.held = false
	wake := q.dirty || q.shut || q.parked.Load() > 0
	q.dirty = false
	q.mu.Unlock()
	if wake {
		q.wakePoller()
	}
}

// post is the one way a tag is posted on q, and keeps the engine's
// invariant: while any tag is pending on a queue, some goroutine is
// polling it or will be woken. start posts the tag (a batch start, a
// request-call slot, a watch, a shutdown notice) and reports whether the
// core took it.
//   - A waited tag (its waiter calls Op.Wait, which polls or parks) needs
//     nothing more.
//   - A tag nobody waits for (its completion runs a hook) is counted in
//     unwaited before start, so the count never misses its completion;
//     uncounted if start fails; and announced after (noteUnwaited), so a
//     standing-by poller wakes or the holder hands over when it leaves.
//     fromHolder skips the announcement for a caller that holds the token
//     (a completion target re-posting): it goes on polling, and the count
//     keeps the standing-by poller's tick armed once it stops.
func (q *queue) post(unwaited, fromHolder bool, start func() bool) bool {
	if !unwaited {
		return start()
	}
	q.unwaited.Add(1)
	if !start() {
		q.unwaited.Add(-1)
		return false
	}
	if !fromHolder {
		q.noteUnwaited()
	}
	return true
}

// noteUnwaited is called (by post) after posting a tag nobody will Wait
// for: someone must be polling for it.
func (q *queue) noteUnwaited() {
	q.mu.Lock()
	if q.held {
		q.dirty = true // the holder hands over to the poller when it leaves
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	q.wakePoller()
}

// pollFor is an inline waiter's loop: it holds the token and polls until
// o completes, delivering every completion it meets.
func (q *queue) pollFor(o *Op) {
	if o.isDone() {
		// The previous holder delivered it before releasing the token.
		q.release()
		return
	}
	// Pass through the scheduler now and then before blocking in C. A
	// goroutine that only ever waits inside cgo calls never reschedules,
	// so its P's schedtick stands still; after 10 ms sysmon takes it for a
	// CPU hog and retakes its P on every tick (20 µs) while it is in C,
	// since getting a P back on return does not count as a reschedule.
	// Measured on a W1 client: 40% of calls lost their P that way, each a
	// hand-off and a futex wake. Not on every wait: Gosched costs ~5 µs
	// and wakes an idle P's thread.
	if now := monotonic(); now-q.yielded.Load() > yieldEvery {
		q.yielded.Store(now)
		runtime.Gosched()
	}
	var prev cgo.Batch
	block := true
	for {
		ev := q.src.Next(prev, block)
		prev = cgo.Batch{}
		switch ev.Type {
		case cgo.QueueShutdown:
			q.release()
			<-o.done
			return
		case cgo.QueueTimeout:
			runtime.Gosched() // as in serve
			block = true
		case cgo.OpComplete:
			q.deliver(ev)
			if o.isDone() {
				ev.Batch.Release()
				q.release()
				return
			}
			prev = ev.Batch
			block = false
		}
	}
}

// UnwaitedTags reports the tags posted that nobody waits for and that have
// not completed yet, over the engine's queues (a diagnostic for tests:
// with no server, channel watch or RPC alive it must be zero, or a
// standing-by poller would tick for nothing, or miss a completion).
func UnwaitedTags() int64 {
	e := engine.Load()
	if e == nil {
		return 0
	}
	var n int64
	for _, q := range e.qs {
		n += q.unwaited.Load()
	}
	return n
}

// Live reports the C objects alive now (see cgo.LiveCounts).
func Live() cgo.Live { return cgo.LiveCounts() }
