package health

import (
	"iter"
	"testing"
)

// TestWatchQueueBounded: a watcher that does not read (its client's flow
// control holds the stream) keeps at most maxPending changes; the oldest
// go, the latest stays, and no status is sent twice in a row.
func TestWatchQueueBounded(t *testing.T) {
	s := NewHealthServicer()
	done := make(chan struct{})
	next, stop := iter.Pull(s.watch("svc", done))
	defer stop()
	if st, ok := next(); !ok || st != HealthCheckResponseServiceUnknown {
		t.Fatalf("first: %v %v", st, ok)
	}
	const sets = 5*maxPending + 1 // ends with SERVING
	for i := range sets {
		s.Set("svc", HealthCheckResponseServing+ServingStatus(i%2))
	}
	s.mu.Lock()
	var w *watcher
	for w = range s.watchers["svc"] {
	}
	pending := len(w.pending)
	s.mu.Unlock()
	if pending != maxPending {
		t.Errorf("%d changes queued, want %d", pending, maxPending)
	}
	s.Set("svc", HealthCheckResponseUnknown)
	var got []ServingStatus
	for {
		st, ok := next()
		if !ok {
			t.Fatal("watch ended")
		}
		if len(got) > 0 && got[len(got)-1] == st {
			t.Fatalf("%v twice in a row", st)
		}
		got = append(got, st)
		if st == HealthCheckResponseUnknown {
			break
		}
	}
	if len(got) > maxPending || got[len(got)-2] != HealthCheckResponseServing {
		t.Errorf("%d statuses, the one before the last %v", len(got), got[len(got)-2])
	}
	close(done)
	if _, ok := next(); ok {
		t.Error("watch went on after done")
	}
	if len(s.watchers) != 0 {
		t.Errorf("watchers left: %v", s.watchers)
	}
}

// TestZeroValue: a zero HealthServicer is NewHealthServicer()'s.
func TestZeroValue(t *testing.T) {
	var s HealthServicer
	if st, ok := s.status[""]; ok {
		t.Fatalf("state before use: %v", st)
	}
	s.Set("a", HealthCheckResponseNotServing)
	if s.status[""] != HealthCheckResponseServing || s.status["a"] != HealthCheckResponseNotServing || s.blocking {
		t.Errorf("zero value: %v, blocking %v", s.status, s.blocking)
	}
	if !NewHealthServicer(WithExperimentalNonBlocking(false)).blocking {
		t.Error("experimental_non_blocking=False lost")
	}
}
