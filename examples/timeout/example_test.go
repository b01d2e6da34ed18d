package timeout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

const (
	serverPkg    = "./examples/timeout/greeter_server"
	clientPkg    = "./examples/timeout/greeter_client"
	serverScript = "examples/timeout/python/greeter_server.py"
	clientScript = "examples/timeout/python/greeter_client.py"

	deadline = 3 * time.Second // the clients' timeout=3
)

// The lines both clients print, in this order.
var want = []string{
	"call: 1",
	"Greeter client received: you",
	"call: 2",
	"Call failed with code: StatusCode.DEADLINE_EXCEEDED",
}

// check requires the four lines in order and a run that lasted at least
// the deadline: the second call waited for it. That it ended with
// DEADLINE_EXCEEDED and not with the delayed answer ("Greeter client
// received: [delay] you" after five seconds) shows the deadline, not the
// server, ended it; a wall-clock upper bound would add only start-up noise.
func check(t *testing.T, what, out string, elapsed time.Duration) {
	t.Helper()
	lines := exampletest.Lines(out)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: output\n%s\nwant\n%s", what, out, strings.Join(want, "\n"))
	}
	if elapsed < deadline {
		t.Errorf("%s: ran %v, less than the %v deadline", what, elapsed, deadline)
	}
	t.Logf("%s: %v", what, elapsed.Round(time.Millisecond))
}

// TestTimeout runs the Go client against the Go and the Python server and
// the Python client against the Go server: the first call is answered,
// the second ends DEADLINE_EXCEEDED after three seconds. The pairs run in
// parallel (each takes the deadline's three seconds).
func TestTimeout(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{stubs}
	exampletest.Go(t, clientPkg) // build before the clocks start
	goServer := exampletest.GoServer(t, serverPkg)
	pyServer := exampletest.PythonServer(t, serverScript, py)
	pairs := []struct {
		name string
		run  func(t *testing.T) string
	}{
		{"go client → go server", func(t *testing.T) string { return exampletest.GoClient(t, clientPkg, goServer.Target) }},
		{"python client → go server", func(t *testing.T) string {
			return exampletest.PythonClient(t, clientScript, py, goServer.Target)
		}},
		{"go client → python server", func(t *testing.T) string { return exampletest.GoClient(t, clientPkg, pyServer.Target) }},
		{"python client → python server", func(t *testing.T) string {
			return exampletest.PythonClient(t, clientScript, py, pyServer.Target)
		}},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out := p.run(t)
			check(t, p.name, out, time.Since(start))
		})
	}
}
