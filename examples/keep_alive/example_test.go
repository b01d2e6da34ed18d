package keep_alive_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

// trace makes the core log its keepalive pings (the original's
// "run this with GRPC_VERBOSITY=DEBUG GRPC_TRACE=http_keepalive").
var trace = []string{"GRPC_VERBOSITY=DEBUG", "GRPC_TRACE=http_keepalive"}

// TestKeepAlive runs the keep_alive client against the keep_alive server
// with the core's keepalive trace on: Go against Go, and across languages
// Python client against Go server and Go client against Python server, in
// parallel. Each client's call succeeds; then, with no RPC in flight, its
// channel sends a keepalive ping and gets it acknowledged ("Start
// keepalive ping", "Finish keepalive ping"), no sooner than 6 s after the
// call (grpc.keepalive_time_ms is 8000; a channel without the option
// never pings, and without grpc.keepalive_permit_without_calls it would
// not ping while idle) and within 25 s, while the client keeps counting
// its idle seconds. The clients are stopped there rather than after the
// original's 30 s.
func TestKeepAlive(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{stubs}
	goServer := exampletest.GoServer(t, "./examples/keep_alive/greeter_server")
	pyServer := exampletest.PythonServer(t, "examples/keep_alive/python/greeter_server.py", py)
	goClient := exampletest.Go(t, "./examples/keep_alive/greeter_client")
	pyClient := filepath.Join(exampletest.Root(), "examples/keep_alive/python/greeter_client.py")

	pythonClient := func(target string) *exec.Cmd {
		cmd := exec.Command(exampletest.Python, "-u", pyClient)
		cmd.Dir = filepath.Dir(pyClient)
		cmd.Env = append(os.Environ(), append(trace, "EXAMPLE_TARGET="+target, "PYTHONPATH="+stubs)...)
		return cmd
	}
	goClientCmd := func(target string) *exec.Cmd {
		cmd := exec.Command(goClient, "--target="+target)
		cmd.Env = append(os.Environ(), trace...)
		return cmd
	}
	// The three clients run at once (whatever -parallel is), then each is
	// checked in turn.
	clients := []struct {
		name string
		out  *output
	}{
		{"go client → go server", start(t, goClientCmd(goServer.Target))},
		{"python client → go server", start(t, pythonClient(goServer.Target))},
		{"go client → python server", start(t, goClientCmd(pyServer.Target))},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { checkClient(t, c.out) })
	}
}

func checkClient(t *testing.T, out *output) {
	called := out.wait(t, "Greeter client received: you", 30*time.Second)
	if out.has("Call failed") {
		t.Fatalf("the call failed:\n%s", out)
	}
	ping := out.wait(t, "Start keepalive ping", 25*time.Second)
	acked := out.wait(t, "Finish keepalive ping", 10*time.Second)
	if d := ping.Sub(called); d < 6*time.Second {
		t.Errorf("keepalive ping %v after the call, want about grpc.keepalive_time_ms (8 s) or more", d)
	}
	t.Logf("keepalive ping %v after the call, acknowledged %v later",
		ping.Sub(called).Round(time.Millisecond), acked.Sub(ping).Round(time.Millisecond))
	// The client is still alive and counting after the ping.
	exampletest.Contains(t, "client", out.String(), "call: 1", "0 seconds paased.")
	out.wait(t, fmt.Sprintf("%d seconds paased.", out.seconds()+1), 5*time.Second)
}

// output records a process's output with the time each line arrived.
type output struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	at      []time.Time
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		o.lines = append(o.lines, string(o.partial[:i]))
		o.at = append(o.at, time.Now())
		o.partial = o.partial[i+1:]
	}
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.lines, "\n")
}

func (o *output) find(s string) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, l := range o.lines {
		if strings.Contains(l, s) {
			return o.at[i], true
		}
	}
	return time.Time{}, false
}

func (o *output) has(s string) bool { _, ok := o.find(s); return ok }

// seconds is the last idle second the client has counted.
func (o *output) seconds() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := -1
	for _, l := range o.lines {
		var s int
		if _, err := fmt.Sscanf(l, "%d seconds paased.", &s); err == nil {
			n = s
		}
	}
	return n
}

// wait returns when a line containing s arrived, failing the test if none
// does within d.
func (o *output) wait(t *testing.T, s string, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if at, ok := o.find(s); ok {
			return at
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v:\n%s", s, d, o)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// start runs cmd under a deadline (it is killed when the test ends) and
// returns its output as it comes.
func start(t *testing.T, cmd *exec.Cmd) *output {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Dir, c.Env = cmd.Dir, cmd.Env
	out := &output{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		cancel()
		t.Fatalf("start %v: %v", c.Args, err)
	}
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return out
}
