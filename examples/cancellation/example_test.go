package cancellation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/cancellation/hash_name"
	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const (
	serverPkg    = "./examples/cancellation/server"
	clientPkg    = "./examples/cancellation/client"
	serverScript = "examples/cancellation/python/server.py"
	clientScript = "examples/cancellation/python/client.py"
	proto        = "examples/cancellation/hash_name/hash_name.proto"

	// A name no search finds in a lifetime: its RPC runs until cancelled
	// or until the server's --maximum-hashes.
	hopeless = "aaaaaaaaaa"
	// How long a freed worker may take to be seen free.
	freeBound = 5 * time.Second
)

// The first hash containing "aa" (SHA-1 of b"d"): what every client
// prints for `client aa`, the original test's successful run.
var found = []string{`secret: "ZA=="`, `hashed_name: "PDY4Ns9OFmZmaaJdooChhlwtKHQ="`}

// client is one side of a cross-language pair: it builds the command that
// runs the Go or the Python client against target.
type client struct {
	name string
	cmd  func(ctx context.Context, t *testing.T, target string, args ...string) *exec.Cmd
}

func clients(stubs string) []client {
	return []client{
		{"go", func(ctx context.Context, t *testing.T, target string, args ...string) *exec.Cmd {
			return exec.CommandContext(ctx, exampletest.Go(t, clientPkg), append([]string{"--target=" + target}, args...)...)
		}},
		{"python", func(ctx context.Context, t *testing.T, target string, args ...string) *exec.Cmd {
			script := filepath.Join(exampletest.Root(), clientScript)
			cmd := exec.CommandContext(ctx, exampletest.Python, append([]string{"-u", script}, args...)...)
			cmd.Dir = filepath.Dir(script)
			cmd.Env = append(os.Environ(), "EXAMPLE_TARGET="+target, "PYTHONPATH="+stubs)
			return cmd
		}},
	}
}

// pythonServer starts server.py with command-line arguments (the
// harness's PythonServer passes none) and waits for its port file.
func pythonServer(t *testing.T, stubs string, args ...string) string {
	t.Helper()
	script := filepath.Join(exampletest.Root(), serverScript)
	pf := filepath.Join(t.TempDir(), "port")
	cmd := exec.Command(exampletest.Python, append([]string{"-u", script}, args...)...)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "EXAMPLE_ADDR=127.0.0.1:0", "EXAMPLE_PORT_FILE="+pf, "PYTHONPATH="+stubs)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	for deadline := time.Now().Add(exampletest.Timeout); ; {
		if b, err := os.ReadFile(pf); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return "127.0.0.1:" + strings.TrimSpace(string(b))
		}
		select {
		case <-exited:
			t.Fatalf("%v exited before serving:\n%s", cmd.Args, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not serve within %v:\n%s", cmd.Args, exampletest.Timeout, out.String())
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// probe asks the server for "aa" (a few hundred hashes at most) and
// returns the status code: RESOURCE_EXHAUSTED while another RPC holds the
// server's only slot (maximum_concurrent_rpcs=1), OK once it is free.
func probe(t *testing.T, stub *pb.HashFinderStub) grpc.StatusCode {
	t.Helper()
	_, err := stub.Find.Call(&pb.HashNameRequest{DesiredName: "aa"}, grpc.WithTimeout(10*time.Second))
	var rpcErr *grpc.RpcError
	switch {
	case err == nil:
		return grpc.StatusCodeOK
	case errors.As(err, &rpcErr):
		return rpcErr.Code()
	}
	t.Fatalf("probe: %v", err)
	return 0
}

func dial(t *testing.T, target string) *pb.HashFinderStub {
	t.Helper()
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { channel.Close() })
	return pb.NewHashFinderStub(channel)
}

// cancelMidSearch runs the original test's graceful_sigint case and checks
// what it only implies: a client searches for a hopeless name, the test
// sees the RPC hold the server's only slot, sends the client SIGINT, the
// client exits 0 at once, and the slot is free again within freeBound,
// which only a handler that noticed the cancellation gives back (the
// servers run with far more --maximum-hashes than that lets them hash).
func cancelMidSearch(t *testing.T, c client, target string, stub *pb.HashFinderStub, args ...string) {
	t.Helper()
	for attempt := 1; !cancelOnce(t, c, target, stub, attempt, args...); attempt++ {
	}
}

// cancelOnce is one try of cancelMidSearch; false if a probe turned the
// client away and it should be tried again.
func cancelOnce(t *testing.T, c client, target string, stub *pb.HashFinderStub, attempt int, args ...string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
	defer cancel()
	var out syncBuffer
	cmd := c.cmd(ctx, t, target, append(args, hopeless)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	busy := false
	for deadline := time.Now().Add(20 * time.Second); !busy && time.Now().Before(deadline); {
		select {
		case err := <-exited:
			// A probe held the slot just when the client's RPC came: the
			// client was turned away (RESOURCE_EXHAUSTED).
			if attempt < 3 && strings.Contains(out.String(), "RESOURCE_EXHAUSTED") {
				t.Logf("attempt %d: the client met a probe (%v); again", attempt, err)
				return false
			}
			t.Fatalf("client exited before it was cancelled: %v\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		busy = probe(t, stub) == grpc.StatusCodeResourceExhausted
	}
	if !busy {
		t.Fatalf("the client's RPC never occupied the server:\n%s", out.String())
	}

	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("client after SIGINT: %v, want exit status 0\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("client still running 10s after SIGINT:\n%s", out.String())
	}
	start := time.Now()
	for probe(t, stub) != grpc.StatusCodeOK {
		if time.Since(start) > freeBound {
			t.Fatalf("the server's only slot is still held %v after the client cancelled", freeBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s client %v cancelled; the slot was free again within %v", c.name, args, time.Since(start).Round(time.Millisecond))
	return true
}

// TestCancellation: every client against every server, as the original's
// test does (a successful run, then a search cancelled with SIGINT and a
// successful run after it), for Find and FindRange, and a search the
// server cancels itself once it reaches --maximum-hashes.
func TestCancellation(t *testing.T) {
	stubs := exampletest.PythonStubs(t, proto)
	servers := []struct {
		name         string
		target       string // --maximum-hashes far beyond what a test can hash
		cappedTarget string // --maximum-hashes=20000
	}{
		{"go",
			exampletest.GoServer(t, serverPkg, "--maximum-hashes=1000000000").Target,
			exampletest.GoServer(t, serverPkg, "--maximum-hashes=20000").Target},
		// The Python server's default of 1,000,000 hashes takes it ~45 s.
		{"python", pythonServer(t, stubs), pythonServer(t, stubs, "--maximum-hashes", "20000")},
	}
	for _, s := range servers {
		t.Run(s.name+" server", func(t *testing.T) {
			t.Parallel()
			stub := dial(t, s.target)
			for _, c := range clients(stubs) {
				what := c.name + " client → " + s.name + " server"
				ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
				defer cancel()
				run := func(target string, args ...string) (string, error) {
					out, err := c.cmd(ctx, t, target, args...).CombinedOutput()
					return string(out), err
				}

				out, err := run(s.target, "aa")
				if err != nil {
					t.Fatalf("%s: %v\n%s", what, err, out)
				}
				exampletest.Contains(t, what+": unary", out, found...)

				cancelMidSearch(t, c, s.target, stub)
				cancelMidSearch(t, c, s.target, stub, "--show-inferior=0")

				// The next client is served: the worker is back.
				out, err = run(s.target, "--ideal-distance=0", "aa")
				if err != nil {
					t.Fatalf("%s after cancellations: %v\n%s", what, err, out)
				}
				exampletest.Contains(t, what+": after cancellations", out, found...)

				// The server gives up: context.cancel() reaches the client
				// as CANCELLED, which result() and the iterator raise.
				for _, args := range [][]string{{hopeless}, {"--show-inferior=0", hopeless}} {
					out, err = run(s.cappedTarget, args...)
					if err == nil {
						t.Errorf("%s %v with --maximum-hashes=20000: exit 0, want the CANCELLED error\n%s", what, args, out)
					}
					exampletest.Contains(t, fmt.Sprintf("%s %v, server cancels", what, args), out, "StatusCode.CANCELLED")
				}
			}
		})
	}
}
