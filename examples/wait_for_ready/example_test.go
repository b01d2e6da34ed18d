package wait_for_ready_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

const (
	pkg    = "./examples/wait_for_ready/wait_for_ready_example"
	script = "examples/wait_for_ready/python/wait_for_ready_example.py"

	disabled = "Wait-for-ready disabled, client received: "
	enabled  = "Wait-for-ready enabled, client received: Hello, you!"
	waiting  = "Waiting for a server at "
)

// lineProc is a running client whose output the test reads as it comes.
type lineProc struct {
	mu     sync.Mutex
	out    strings.Builder
	added  chan struct{} // signalled on every new line
	exited chan struct{}
	err    error // set before exited is closed
}

func startLines(t *testing.T, cmd *exec.Cmd) *lineProc {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := &lineProc{added: make(chan struct{}, 1), exited: make(chan struct{})}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		s := bufio.NewScanner(r)
		for s.Scan() {
			p.mu.Lock()
			p.out.WriteString(s.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.added <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		<-scanned
		p.err = cmd.Wait()
		r.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	return p
}

func (p *lineProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits up to d for the output to contain s.
func (p *lineProc) waitFor(t *testing.T, s string, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.added:
		case <-p.exited:
			if !strings.Contains(p.output(), s) {
				t.Fatalf("exited (%v) without printing %q:\n%s", p.err, s, p.output())
			}
		case <-timeout:
			t.Fatalf("no %q within %v:\n%s", s, d, p.output())
		}
	}
}

// freePort is what get_free_loopback_tcp_port gives: a port the kernel
// chose that nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort().String()
}

func goCmd(ctx context.Context, t *testing.T, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, exampletest.Go(t, pkg), args...)
}

func pyCmd(ctx context.Context, t *testing.T, stubs string, env ...string) *exec.Cmd {
	path := filepath.Join(exampletest.Root(), script)
	cmd := exec.CommandContext(ctx, exampletest.Python, "-u", path)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(append(os.Environ(), "PYTHONPATH="+stubs), env...)
	return cmd
}

// checkOrder requires the fail-fast RPC's UNAVAILABLE line before the
// answered wait-for-ready line.
func checkOrder(t *testing.T, what, out string) {
	t.Helper()
	exampletest.Contains(t, what, out, disabled, "StatusCode.UNAVAILABLE", enabled)
	if d, e := strings.Index(out, disabled), strings.Index(out, enabled); d < 0 || e < 0 || d > e {
		t.Errorf("%s: the fail-fast RPC's line should come first:\n%s", what, out)
	}
	if strings.Contains(out, "Traceback") || strings.Contains(out, "AssertionError") {
		t.Errorf("%s: an assertion of process() failed:\n%s", what, out)
	}
}

// TestOneProcess runs the example as the original is run: both halves in
// one process, the server started once the channel is in
// TRANSIENT_FAILURE.
func TestOneProcess(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
	defer cancel()
	for name, cmd := range map[string]*exec.Cmd{"go": goCmd(ctx, t), "python": pyCmd(ctx, t, stubs)} {
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		checkOrder(t, name, string(out))
	}
}

// TestAcrossProcesses runs the client half (--target, EXAMPLE_TARGET) and
// starts the server half (--addr, EXAMPLE_ADDR) of the other language, or
// the same, only once the client says its channel is in
// TRANSIENT_FAILURE: by then the fail-fast RPC has failed with
// UNAVAILABLE, and the wait-for-ready one is still waiting a second later.
// Once the server is up it is answered.
func TestAcrossProcesses(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{stubs}
	exampletest.Go(t, pkg)
	servers := map[string]func(t *testing.T, addr string){
		"go": func(t *testing.T, addr string) { exampletest.GoServer(t, pkg, "--addr="+addr) },
		"python": func(t *testing.T, addr string) {
			exampletest.PythonServer(t, script, py, "EXAMPLE_ADDR="+addr)
		},
	}
	clients := map[string]func(ctx context.Context, t *testing.T, target string) *exec.Cmd{
		"go": func(ctx context.Context, t *testing.T, target string) *exec.Cmd {
			return goCmd(ctx, t, "--target="+target)
		},
		"python": func(ctx context.Context, t *testing.T, target string) *exec.Cmd {
			return pyCmd(ctx, t, stubs, "EXAMPLE_TARGET="+target)
		},
	}
	for _, pair := range [][2]string{{"go", "go"}, {"python", "go"}, {"go", "python"}} {
		client, server := pair[0], pair[1]
		t.Run(fmt.Sprintf("%s client → %s server", client, server), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
			defer cancel()
			addr := freePort(t)
			p := startLines(t, clients[client](ctx, t, addr))

			p.waitFor(t, waiting+addr, 20*time.Second)
			p.waitFor(t, "StatusCode.UNAVAILABLE", 10*time.Second)
			time.Sleep(time.Second)
			if strings.Contains(p.output(), enabled) {
				t.Fatalf("the wait-for-ready RPC was answered with no server:\n%s", p.output())
			}
			select {
			case <-p.exited:
				t.Fatalf("the client exited with no server (%v):\n%s", p.err, p.output())
			default:
			}

			start := time.Now()
			servers[server](t, addr)
			// The channel reconnects with backoff (1 s, then 1.6 s, ...).
			select {
			case <-p.exited:
			case <-time.After(20 * time.Second):
				t.Fatalf("the wait-for-ready RPC did not finish within 20 s of the server starting:\n%s", p.output())
			}
			if p.err != nil {
				t.Fatalf("client: %v\n%s", p.err, p.output())
			}
			checkOrder(t, client+" client", p.output())
			t.Logf("answered %v after the server started", time.Since(start).Round(time.Millisecond))
		})
	}
}
