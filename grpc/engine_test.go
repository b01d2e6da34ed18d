package grpc_test

import (
	"bytes"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// TestInlinePollingMixedWaiters drives every way of waiting at once on one
// channel, client and server in one process (so both share the engine's
// queues): blocking calls (which poll inline and are handed the token),
// futures nobody waits on inline, a bidi ping-pong (two goroutines waiting
// on one call), and a goroutine that is handed the token by a blocking
// call and then goes away while a future of its own is in flight. A
// completion left unpolled shows as a hang, caught by the deadlines.
func TestInlinePollingMixedWaiters(t *testing.T) {
	leakcheck.Check(t)
	chat := grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
		return func(yield func(any, error) bool) {
			for r, err := range reqs {
				if err != nil || !yield(r, nil) {
					return
				}
			}
		}
	})
	_, target := serve(t, nil, service("test.Mixed", map[string]*grpc.RpcMethodHandler{
		"Unary": echoHandler(), "Chat": chat,
	}))
	ch := dial(t, target)
	unary := ch.UnaryUnary("/test.Mixed/Unary")
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	run("blocking", func() error {
		for i := range n {
			p := []byte(fmt.Sprint("b", i))
			resp, err := unary.Call(p, grpc.WithTimeout(testTimeout))
			if err != nil {
				return err
			}
			if !bytes.Equal(resp.([]byte), p) {
				return fmt.Errorf("got %q, want %q", resp, p)
			}
		}
		return nil
	})
	run("futures", func() error {
		for i := range n {
			f, err := unary.Future([]byte(fmt.Sprint("f", i)), grpc.WithTimeout(testTimeout))
			if err != nil {
				return err
			}
			if _, err := f.Result(testTimeout); err != nil {
				return err
			}
		}
		return nil
	})
	run("ping-pong", func() error {
		next := make(chan []byte)
		defer close(next)
		it, err := ch.StreamStream("/test.Mixed/Chat").Call(func(yield func(any, error) bool) {
			for p := range next {
				if !yield(p, nil) {
					return
				}
			}
		}, grpc.WithTimeout(testTimeout))
		if err != nil {
			return err
		}
		for i := range n {
			p := []byte(fmt.Sprint("s", i))
			next <- p
			resp, err := it.Next()
			if err != nil {
				return err
			}
			if !bytes.Equal(resp.([]byte), p) {
				return fmt.Errorf("got %q, want %q", resp, p)
			}
		}
		return nil
	})
	run("leaver", func() error { return leaver(unary, n/4) })
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestInlinePollingLoneClient is the case with nothing else going on: the
// server is in another process, so no server activity in this one polls
// on the client's behalf. A blocking call hands this goroutine the token;
// then it waits for a future on a plain channel, which must still
// complete, and goes away for a while.
func TestInlinePollingLoneClient(t *testing.T) {
	leakcheck.Check(t)
	ch := dial(t, startHelperServer(t))
	if err := leaver(ch.UnaryUnary("/test.Mem/Echo"), 100); err != nil {
		t.Fatal(err)
	}
}

func leaver(unary *grpc.UnaryUnaryMultiCallable, n int) error {
	for i := range n {
		if _, err := unary.Call([]byte("l"), grpc.WithTimeout(testTimeout)); err != nil {
			return err
		}
		// This goroutine may now be the one expected to poll next; it
		// waits on a plain channel instead, then sleeps.
		f, err := unary.Future([]byte(fmt.Sprint("lf", i)), grpc.WithTimeout(testTimeout))
		if err != nil {
			return err
		}
		done := make(chan struct{})
		f.AddDoneCallback(func(grpc.Future) { close(done) })
		select {
		case <-done:
		case <-time.After(testTimeout):
			return fmt.Errorf("future %d never completed", i)
		}
		time.Sleep(time.Millisecond) // the scenario: this goroutine goes away, not polling
	}
	return nil
}
