package testing_test

import (
	"errors"
	"sync"
	stdtesting "testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	grpctesting "github.com/grpcpy/grpcpy/grpc/testing"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// TestMain requires every goroutine and every C object (servers,
// channels, calls of the in-process transport) to be gone at exit.
func TestMain(m *stdtesting.M) { leakcheck.Main(m) }

type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(s string) func() {
	return func() { r.mu.Lock(); r.got = append(r.got, s); r.mu.Unlock() }
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := ""
	for _, g := range r.got {
		out += g
	}
	return out
}

// TestStrictFakeTime: time moves only when the test sleeps; what became
// due runs, in time order, before the sleep returns; a cancelled behavior
// never runs; one due now runs before CallIn returns; a panicking one is
// logged and the rest still run.
func TestStrictFakeTime(t *stdtesting.T) {
	start := time.Unix(1000, 0)
	ft := grpctesting.StrictFakeTime(start)
	var r recorder
	ft.CallIn(r.add("c"), 3*time.Second)
	ft.CallAt(r.add("a"), start.Add(time.Second))
	b := ft.CallIn(r.add("b"), 2*time.Second)
	ft.CallIn(func() { panic("behavior failed") }, 2*time.Second)
	ft.CallIn(r.add("b2"), 2*time.Second)
	if got := ft.Time(); !got.Equal(start) {
		t.Fatalf("Time() = %v, want %v (fake time stands still)", got, start)
	}
	ft.SleepFor(1500 * time.Millisecond)
	if r.String() != "a" || !ft.Time().Equal(start.Add(1500*time.Millisecond)) {
		t.Fatalf("after 1.5 s: ran %q at %v", r.String(), ft.Time())
	}
	if !b.Cancel() || !b.Cancelled() || !b.Done() || !b.Cancel() {
		t.Fatal("a pending behavior did not cancel")
	}
	if _, err := b.Result(); !errors.As(err, new(grpc.FutureCancelledError)) {
		t.Fatalf("cancelled Result: %v", err)
	}
	ft.SleepUntil(start.Add(5 * time.Second))
	if r.String() != "ab2c" {
		t.Fatalf("ran %q, want a, b2, c (b cancelled, the panic logged)", r.String())
	}
	now := ft.CallIn(r.add("!"), 0)
	if r.String() != "ab2c!" || !now.Done() || now.Cancel() {
		t.Fatalf("a behavior due now: ran %q, done %v", r.String(), now.Done())
	}
	ft.SleepUntil(start) // the past: nothing happens
	if !ft.Time().Equal(start.Add(5 * time.Second)) {
		t.Fatal("SleepUntil went back in time")
	}
}

// TestStrictRealTime: behaviors run on the real clock, SleepFor returns
// once those due by its end ran, and an idle Time holds no goroutine
// (goleak at exit).
func TestStrictRealTime(t *stdtesting.T) {
	rt := grpctesting.StrictRealTime()
	var r recorder
	t0 := rt.Time()
	f := rt.CallIn(r.add("a"), 20*time.Millisecond)
	later := rt.CallIn(r.add("never"), time.Hour)
	var cbs sync.WaitGroup
	cbs.Add(1)
	f.AddDoneCallback(func(grpc.Future) { cbs.Done() })
	rt.SleepFor(50 * time.Millisecond)
	if r.String() != "a" || time.Since(t0) < 50*time.Millisecond {
		t.Fatalf("after 50 ms: ran %q", r.String())
	}
	if _, err := f.Result(time.Second); err != nil {
		t.Fatal(err)
	}
	cbs.Wait()
	if !later.Cancel() {
		t.Fatal("an hour-away behavior did not cancel")
	}
	if f.Cancel() {
		t.Fatal("a behavior that ran was cancelled")
	}
	rt.SleepFor(10 * time.Millisecond) // the activity goroutine exits once nothing is scheduled
}
