// Package testing mirrors Python's grpc_testing: unit-testing servicers
// and clients in-process, with real or fake time. Import it under another
// name beside Go's own testing package:
//
//	import grpctesting "github.com/grpcpy/grpcpy/grpc/testing"
//
// ServerFromDictionary (server.go) tests servicers by playing their
// client; NewChannel (channel.go) tests client code by playing its server.
// Both run the real handlers, stubs and grpc.ServicerContext in a real
// grpc.Server and grpc.Channel joined by the core's in-process transport
// (grpc.InProcessChannel), so no socket is opened and what the code under
// test sees is what it sees in production. Deadlines, TimeRemaining and
// IsActive follow a Time (this file): StrictRealTime or StrictFakeTime.
package testing

import (
	"sort"
	"sync"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/logging"
)

// Time mirrors grpc_testing.Time, "a simplified implementation of
// time.Time" that tests control: behaviors scheduled with CallIn and
// CallAt run when the time reaches them, in time order.
type Time interface {
	// Time mirrors time(): the current time.
	Time() time.Time
	// CallIn mirrors call_in(behavior, delay): behavior runs delay from
	// now; the Future's Cancel unschedules it.
	CallIn(behavior func(), delay time.Duration) grpc.Future
	// CallAt mirrors call_at(behavior, time).
	CallAt(behavior func(), at time.Time) grpc.Future
	// SleepFor mirrors sleep_for(duration): returns once duration has
	// passed and every behavior due by then has run.
	SleepFor(duration time.Duration)
	// SleepUntil mirrors sleep_until(time).
	SleepUntil(at time.Time)
}

// scheduled is one behavior waiting for its time.
type scheduled struct {
	at        time.Time
	seq       uint64 // CallIn order breaks ties, as a Python list does
	behavior  func()
	done      chan struct{}
	cancelled bool
	ran       bool
	callbacks []func(grpc.Future)
}

// schedule is the state both Times share: the behaviors not yet run.
type schedule struct {
	mu      sync.Mutex
	changed *sync.Cond
	pending []*scheduled
	seq     uint64
	running *scheduled // the behavior being run (real time)
}

func newSchedule() *schedule {
	s := &schedule{}
	s.changed = sync.NewCond(&s.mu)
	return s
}

func (s *schedule) addLocked(at time.Time, behavior func()) *scheduled {
	s.seq++
	e := &scheduled{at: at, seq: s.seq, behavior: behavior, done: make(chan struct{})}
	s.pending = append(s.pending, e)
	sort.SliceStable(s.pending, func(i, j int) bool {
		if !s.pending[i].at.Equal(s.pending[j].at) {
			return s.pending[i].at.Before(s.pending[j].at)
		}
		return s.pending[i].seq < s.pending[j].seq
	})
	s.changed.Broadcast()
	return e
}

// matureLocked removes and returns the behaviors due at now, in order.
func (s *schedule) matureLocked(now time.Time) []*scheduled {
	n := 0
	for n < len(s.pending) && !s.pending[n].at.After(now) {
		n++
	}
	due := append([]*scheduled(nil), s.pending[:n]...)
	s.pending = s.pending[n:]
	return due
}

// run calls each behavior, logging a panic as grpcio logs an exception
// ("Exception calling behavior"), and completes its future.
func (s *schedule) run(due []*scheduled) {
	for _, e := range due {
		logging.Guard(logging.Testing, "Exception calling behavior!", e.behavior)
		s.mu.Lock()
		e.ran = true
		cbs := e.callbacks
		e.callbacks = nil
		close(e.done)
		s.changed.Broadcast()
		s.mu.Unlock()
		f := &future{s: s, e: e}
		for _, cb := range cbs {
			logging.Guard(logging.Testing, "Exception calling future done callback!", func() { cb(f) })
		}
	}
}

// future is the grpc.Future of a scheduled behavior. Its result is nil:
// a behavior returns nothing.
type future struct {
	s *schedule
	e *scheduled
}

// Cancel unschedules the behavior; true if it will not run (also when it
// was cancelled before), false once it ran or is running.
func (f *future) Cancel() bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if f.e.cancelled {
		return true
	}
	for i, p := range f.s.pending {
		if p == f.e {
			f.s.pending = append(f.s.pending[:i], f.s.pending[i+1:]...)
			f.e.cancelled = true
			cbs := f.e.callbacks
			f.e.callbacks = nil
			close(f.e.done)
			f.s.changed.Broadcast()
			go func() {
				for _, cb := range cbs {
					logging.Guard(logging.Testing, "Exception calling future done callback!", func() { cb(f) })
				}
			}()
			return true
		}
	}
	return false
}

func (f *future) Cancelled() bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.e.cancelled
}

func (f *future) Done() bool {
	select {
	case <-f.e.done:
		return true
	default:
		return false
	}
}

func (f *future) Running() bool { return !f.Done() }

func (f *future) wait(timeout []time.Duration) error {
	if len(timeout) == 0 {
		<-f.e.done
	} else {
		t := time.NewTimer(max(timeout[0], 0))
		defer t.Stop()
		select {
		case <-f.e.done:
		case <-t.C:
			return grpc.FutureTimeoutError{}
		}
	}
	if f.Cancelled() {
		return grpc.FutureCancelledError{}
	}
	return nil
}

func (f *future) Result(timeout ...time.Duration) (any, error) { return nil, f.wait(timeout) }

func (f *future) Exception(timeout ...time.Duration) (error, error) { return nil, f.wait(timeout) }

func (f *future) Traceback(timeout ...time.Duration) (string, error) { return "", f.wait(timeout) }

func (f *future) AddDoneCallback(fn func(grpc.Future)) {
	f.s.mu.Lock()
	if !f.e.ran && !f.e.cancelled {
		f.e.callbacks = append(f.e.callbacks, fn)
		f.s.mu.Unlock()
		return
	}
	f.s.mu.Unlock()
	logging.Guard(logging.Testing, "Exception calling future done callback!", func() { fn(f) })
}

// ---- StrictFakeTime ----

// fakeTime is grpc_testing's StrictFakeTime: time stands still until a
// test sleeps; sleeping moves it and runs what became due, in order, before
// returning.
type fakeTime struct {
	s   *schedule
	now time.Time
}

// StrictFakeTime mirrors grpc_testing.strict_fake_time(now): a Time that
// starts at now and advances only by SleepFor and SleepUntil. A behavior
// scheduled at or before the current time runs at once, before CallIn or
// CallAt returns.
func StrictFakeTime(now time.Time) Time { return &fakeTime{s: newSchedule(), now: now} }

func (t *fakeTime) Time() time.Time {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.now
}

func (t *fakeTime) CallIn(behavior func(), delay time.Duration) grpc.Future {
	return t.CallAt(behavior, t.Time().Add(delay))
}

func (t *fakeTime) CallAt(behavior func(), at time.Time) grpc.Future {
	t.s.mu.Lock()
	e := t.s.addLocked(at, behavior)
	var due []*scheduled
	if !at.After(t.now) {
		due = t.s.matureLocked(t.now)
	}
	t.s.mu.Unlock()
	t.s.run(due)
	return &future{s: t.s, e: e}
}

func (t *fakeTime) SleepFor(duration time.Duration) {
	if duration > 0 {
		t.SleepUntil(t.Time().Add(duration))
	}
}

func (t *fakeTime) SleepUntil(at time.Time) {
	t.s.mu.Lock()
	if !t.now.Before(at) {
		t.s.mu.Unlock()
		return
	}
	t.now = at
	due := t.s.matureLocked(at)
	t.s.mu.Unlock()
	t.s.run(due)
}

// ---- StrictRealTime ----

// realTime is grpc_testing's StrictRealTime: the wall clock, with one
// goroutine that runs behaviors as they come due; sleeping returns only
// once every behavior due by its end has run.
type realTime struct {
	s      *schedule
	active bool
}

// StrictRealTime mirrors grpc_testing.strict_real_time(): the real clock.
func StrictRealTime() Time { return &realTime{s: newSchedule()} }

func (t *realTime) Time() time.Time { return time.Now() }

func (t *realTime) CallIn(behavior func(), delay time.Duration) grpc.Future {
	return t.CallAt(behavior, time.Now().Add(delay))
}

func (t *realTime) CallAt(behavior func(), at time.Time) grpc.Future {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	e := t.s.addLocked(at, behavior)
	if !t.active {
		t.active = true
		go t.activity()
	}
	return &future{s: t.s, e: e}
}

// activity runs due behaviors until none is scheduled, then exits (a new
// CallAt starts it again), so an idle Time holds no goroutine.
func (t *realTime) activity() {
	t.s.mu.Lock()
	for {
		if len(t.s.pending) == 0 {
			t.active = false
			t.s.mu.Unlock()
			return
		}
		now := time.Now()
		due := t.s.matureLocked(now)
		if len(due) > 0 {
			t.s.running = due[len(due)-1]
			t.s.mu.Unlock()
			t.s.run(due)
			t.s.mu.Lock()
			t.s.running = nil
			continue
		}
		// Sleep until the earliest behavior, or until the schedule changes.
		wait := t.s.pending[0].at.Sub(now)
		timer := time.AfterFunc(wait, func() {
			t.s.mu.Lock()
			t.s.changed.Broadcast()
			t.s.mu.Unlock()
		})
		t.s.changed.Wait()
		timer.Stop()
	}
}

func (t *realTime) SleepFor(duration time.Duration) { t.SleepUntil(time.Now().Add(duration)) }

func (t *realTime) SleepUntil(at time.Time) {
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
	// As grpcio's _ensure_called_through: wait for behaviors due before at.
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	for (len(t.s.pending) > 0 && t.s.pending[0].at.Before(at)) || (t.s.running != nil && t.s.running.at.Before(at)) {
		t.s.changed.Wait()
	}
}
