// Package leakcheck is the teardown every grpcpy test runs: no goroutine
// and no C object (call, channel, server, batch, received message) may
// outlive a test, and at the end of a package the engine's queues are
// destroyed too.
package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/grpcpy/grpcpy/core"
)

// pollers are the engine's long-lived goroutines, stopped by core.Shutdown.
var pollers = goleak.IgnoreAnyFunction("github.com/grpcpy/grpcpy/core.(*Engine).poll")

// Wait is how long teardown waits for asynchronous releases to settle.
const Wait = 10 * time.Second

// liveExceptQueues is the count of C objects that must return to zero
// after every test.
func liveExceptQueues() (int64, string) {
	l := core.Live()
	n := l.Channels + l.Calls + l.Servers + l.Batches + l.Credentials + l.Messages
	return n, fmt.Sprintf("%+v", l)
}

// Check registers a cleanup that fails t if goroutines or C objects made
// during the test are still alive after Wait.
func Check(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(Wait)
		for {
			n, desc := liveExceptQueues()
			if n == 0 && core.UnwaitedTags() == 0 {
				break
			}
			if n == 0 {
				desc = fmt.Sprintf("%d unwaited tags still counted", core.UnwaitedTags())
			}
			if time.Now().After(deadline) {
				t.Errorf("leakcheck: C objects still alive after %v: %s", Wait, desc)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		for {
			err := goleak.Find(pollers)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("leakcheck: %v", err)
				break
			}
		}
	})
}

// Main runs the package's tests, then shuts the engine down and requires
// every C object, queues included, and every goroutine to be gone.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain with clean-up of its own:
// it returns the exit code.
func Run(m *testing.M) int {
	code := m.Run()
	if l := core.Live(); l.Orphans > 0 {
		// Not grpcpy's to free: batches the core never completed, given up
		// on so their RPCs could end (core.StrandGrace).
		fmt.Fprintf(os.Stderr, "leakcheck: %d batches the core never completed (orphaned)\n", l.Orphans)
	}
	if code == 0 {
		core.Shutdown()
		if l := core.Live(); l.Total() != 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: C objects alive at exit: %+v\n", l)
			code = 1
		} else if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines alive at exit: %v\n", err)
			code = 1
		}
	}
	return code
}
