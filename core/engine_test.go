package core

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

// fakeCQ stands in for the core's completion queue under the engine's
// polling loops (eventSource): the test posts completions as the core
// would, and the fake checks that at most one goroutine polls at a time.
type fakeCQ struct {
	events chan cgo.Event
	shut   atomic.Bool
	inNext atomic.Int64
	maxIn  atomic.Int64
	nexts  atomic.Int64
}

func (f *fakeCQ) Next(prev cgo.Batch, block bool) cgo.Event {
	if !prev.Nil() {
		prev.Release() // as gp_cq_next frees prev
	}
	n := f.inNext.Add(1)
	defer f.inNext.Add(-1)
	for m := f.maxIn.Load(); n > m && !f.maxIn.CompareAndSwap(m, n); m = f.maxIn.Load() {
	}
	f.nexts.Add(1)
	if f.shut.Load() {
		return cgo.Event{Type: cgo.QueueShutdown}
	}
	if block {
		ev := <-f.events
		if ev.Type == cgo.QueueShutdown {
			f.shut.Store(true)
		}
		return ev
	}
	select {
	case ev := <-f.events:
		if ev.Type == cgo.QueueShutdown {
			f.shut.Store(true)
		}
		return ev
	default:
		return cgo.Event{Type: cgo.QueueTimeout}
	}
}

// complete posts o's completion, as the core posts a batch's tag.
func (f *fakeCQ) complete(o *Op) {
	f.events <- cgo.Event{Type: cgo.OpComplete, Success: true, Batch: cgo.NewBatch(o, cgo.TagBatch)}
}

// startFakeQueue runs a queue's poller over a fake; the cleanup shuts it
// down and requires the poller to exit and every fake batch to be freed.
func startFakeQueue(t *testing.T) (*queue, *fakeCQ) {
	t.Helper()
	f := &fakeCQ{events: make(chan cgo.Event, 4096)}
	q := &queue{src: f, wake: make(chan struct{}, 1), tick: time.Millisecond, held: true}
	e := &Engine{qs: []*queue{q}}
	e.wg.Add(1)
	batches := Live().Batches
	go e.poll(q)
	t.Cleanup(func() {
		q.mu.Lock()
		q.shut = true
		q.mu.Unlock()
		f.events <- cgo.Event{Type: cgo.QueueShutdown}
		q.wakePoller()
		done := make(chan struct{})
		go func() { e.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the poller did not exit after the queue shut down")
		}
		if n := Live().Batches; n != batches {
			t.Errorf("batches alive after the poller exited: %d, want %d", n, batches)
		}
	})
	return q, f
}

// TestEngineHandOffOnFake: many goroutines wait for their own batches
// (Op.Wait: inline polling for a lone waiter, parking otherwise) while
// completions arrive in random order. Every waiter is woken, at most one
// goroutine is ever inside the queue's Next, and nothing stays parked.
func TestEngineHandOffOnFake(t *testing.T) {
	q, f := startFakeQueue(t)
	const waiters, each = 8, 300
	var wg sync.WaitGroup
	for w := range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range each {
				o := newOp(nil, q, 0)
				go func() {
					if r := r.IntN(4); r > 0 {
						time.Sleep(time.Duration(r) * 10 * time.Microsecond) // the core's latency, varied
					}
					f.complete(o)
				}()
				o.Wait()
				if !o.Success || !o.isDone() {
					t.Error("Wait returned before the batch completed")
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("waiters stranded: %d parked, token held %v", q.parked.Load(), q.held)
	}
	if m := f.maxIn.Load(); m != 1 {
		t.Errorf("%d goroutines were inside Next at once; the token allows one", m)
	}
	if p := q.parked.Load(); p != 0 {
		t.Errorf("%d waiters still counted parked", p)
	}
	t.Logf("%d batches, %d Next calls", waiters*each, f.nexts.Load())
}

// TestEngineUnwaitedOnFake: a tag nobody waits for is counted before it is
// posted and uncounted when delivered (or when its start fails), and it is
// delivered even when the poller stands by: announced (post) it wakes the
// poller; posted by a holder without announcement, the tick finds it.
func TestEngineUnwaitedOnFake(t *testing.T) {
	q, f := startFakeQueue(t)
	// Park the poller in standby: it hands the token to a lone waiter and
	// stands by once that waiter is served.
	o := newOp(nil, q, 0)
	go f.complete(o)
	o.Wait()

	if q.post(true, false, func() bool { return false }) || q.unwaited.Load() != 0 {
		t.Fatalf("a failed post left unwaited at %d", q.unwaited.Load())
	}
	for _, fromHolder := range []bool{false, true} {
		hooked := make(chan struct{})
		h := newOp(nil, q, 0)
		h.after = func(*Op) { close(hooked) }
		h.unwaited = true
		if !q.post(true, fromHolder, func() bool { f.complete(h); return true }) {
			t.Fatal("post failed")
		}
		select {
		case <-hooked:
		case <-time.After(10 * time.Second):
			t.Fatalf("fromHolder=%v: a tag nobody waits for was never delivered (unwaited %d, held %v)",
				fromHolder, q.unwaited.Load(), q.held)
		}
		deadline := time.Now().Add(10 * time.Second)
		for q.unwaited.Load() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("fromHolder=%v: unwaited %d after delivery, want 0", fromHolder, q.unwaited.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestEngineOrphanOnFake: an Op given up on (orphan) wakes its waiter at
// once with Success false and moves its count to the orphans; the core's
// late completion is then ignored and its batch freed.
func TestEngineOrphanOnFake(t *testing.T) {
	q, f := startFakeQueue(t)
	orphans := Live().Orphans
	o := newOp(nil, q, 0)
	o.unwaited = true
	q.post(true, false, func() bool { return true }) // posted, never completed by the "core"
	waited := make(chan struct{})
	go func() { o.Wait(); close(waited) }()
	cgo.Orphan(-1) // o has no C batch yet: balance the count orphan moves
	if !o.orphan() {
		t.Fatal("orphan refused an Op still pending")
	}
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("orphan did not wake the waiter")
	}
	if o.Success || q.unwaited.Load() != 0 {
		t.Fatalf("orphaned Op: Success %v, unwaited %d", o.Success, q.unwaited.Load())
	}
	f.complete(o) // the late completion: ignored, its batch freed
	deadline := time.Now().Add(10 * time.Second)
	for Live().Orphans != orphans-1 {
		if time.Now().After(deadline) {
			t.Fatalf("orphans %d after the late completion, want %d", Live().Orphans, orphans-1)
		}
		time.Sleep(time.Millisecond)
	}
	cgo.Orphan(1) // undo the balance above
}
