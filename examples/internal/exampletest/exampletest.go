// Package exampletest runs the ported examples as their users do: each
// example's Go server and client as separate processes, and the Python
// originals' shape (examples/<name>/python/*.py, run with Debian's
// grpcio 1.51 at /usr/bin/python3, stubs generated at test time with
// grpc_tools.protoc) against them, in both directions.
//
// Conventions every example follows:
//   - Go servers take --addr (default the original's port) and
//     --port_file (written once serving); Go clients take --target.
//   - Python servers read EXAMPLE_ADDR (default the original's
//     '[::]:50051') and write the bound port to EXAMPLE_PORT_FILE if set;
//     Python clients read EXAMPLE_TARGET (default 'localhost:50051').
//
// Every process runs under a deadline and is killed when its test ends.
package exampletest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Python is the interpreter with Debian's grpcio and grpcio-tools.
const Python = "/usr/bin/python3"

// Timeout bounds every client run and every server start.
var Timeout = 60 * time.Second

// Root is the repository root (this file is examples/internal/exampletest).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// Go builds the Go program in package pkg (a path relative to the root,
// "./examples/helloworld/greeter_server") once per test process and
// returns the binary.
func Go(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	if buildDir == "" {
		// bin/ (ignored by git), so nothing is left in /tmp and reruns reuse it.
		buildDir = filepath.Join(Root(), "bin", "examples")
		if err := os.MkdirAll(buildDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(buildDir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_"))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// PythonStubs generates the *_pb2.py and *_pb2_grpc.py modules of proto
// (a path relative to the root) with grpc_tools.protoc into a temporary
// directory and returns it (for PYTHONPATH). Its import paths are the
// proto's own directory and includes (relative to the root).
func PythonStubs(t testing.TB, proto string, includes ...string) string {
	t.Helper()
	out := t.TempDir()
	args := []string{"-m", "grpc_tools.protoc", "-I", filepath.Join(Root(), filepath.Dir(proto))}
	for _, inc := range includes {
		args = append(args, "-I", filepath.Join(Root(), inc))
	}
	args = append(args, "--python_out="+out, "--grpc_python_out="+out, filepath.Join(Root(), proto))
	if out, err := exec.Command(Python, args...).CombinedOutput(); err != nil {
		t.Fatalf("grpc_tools.protoc %s: %v\n%s (Debian's python3-grpc-tools; scripts/lib.sh ensure_deps installs it)", proto, err, out)
	}
	return out
}

// Proc is a started server.
type Proc struct {
	Target string // 127.0.0.1:<port>
	Port   string
	cmd    *exec.Cmd
	out    *SyncBuffer
}

// Output is what the server printed so far (stdout and stderr).
func (p *Proc) Output() string { return p.out.String() }

// SyncBuffer is a bytes.Buffer safe for exec's copying goroutine and a
// test reading it at the same time.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitOutput returns the server's output once it contains every one of
// lines (a server's last lines may still be in the pipe when its client
// is done), or what it has after Timeout.
func (p *Proc) WaitOutput(lines ...string) string {
	deadline := time.Now().Add(Timeout)
	for {
		out := p.Output()
		missing := false
		for _, l := range lines {
			missing = missing || !strings.Contains(out, l)
		}
		if !missing || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Start starts cmd (its Stdout and Stderr are set here) and waits until
// it has written a non-empty portFile, for servers started other than by
// GoServer and PythonServer (extra arguments, another working directory);
// it is killed when the test ends.
func Start(t testing.TB, cmd *exec.Cmd, portFile string) *Proc {
	t.Helper()
	return start(t, cmd, portFile)
}

func start(t testing.TB, cmd *exec.Cmd, portFile string) *Proc {
	t.Helper()
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	p := &Proc{cmd: cmd, out: out}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(Timeout)
	for {
		if b, err := os.ReadFile(portFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			p.Port = strings.TrimSpace(string(b))
			p.Target = "127.0.0.1:" + p.Port
			return p
		}
		select {
		case <-exited:
			t.Fatalf("%v exited before serving:\n%s", cmd.Args, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not serve within %v:\n%s", cmd.Args, Timeout, out.String())
		}
	}
}

// GoServer starts a Go example server on a kernel-chosen 127.0.0.1 port.
func GoServer(t testing.TB, pkg string, args ...string) *Proc {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "port")
	cmd := exec.Command(Go(t, pkg), append([]string{"--addr=127.0.0.1:0", "--port_file=" + pf}, args...)...)
	return start(t, cmd, pf)
}

// PythonServer starts a Python server script (relative to the root) with
// the stub directories on PYTHONPATH and extra environment entries.
func PythonServer(t testing.TB, script string, pythonPath []string, env ...string) *Proc {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "port")
	cmd := exec.Command(Python, "-u", filepath.Join(Root(), script))
	cmd.Dir = filepath.Dir(filepath.Join(Root(), script))
	cmd.Env = append(os.Environ(), append([]string{"EXAMPLE_ADDR=127.0.0.1:0", "EXAMPLE_PORT_FILE=" + pf,
		"PYTHONPATH=" + strings.Join(pythonPath, ":")}, env...)...)
	return start(t, cmd, pf)
}

// run runs a client to completion within Timeout; it fails the test if
// the client fails, and returns its combined output.
func run(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return string(out)
}

// GoClient runs a Go example client against target (--target=target).
func GoClient(t testing.TB, pkg, target string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return run(t, exec.CommandContext(ctx, Go(t, pkg), append([]string{"--target=" + target}, args...)...))
}

// PythonClient runs a Python client script against target (EXAMPLE_TARGET).
func PythonClient(t testing.TB, script string, pythonPath []string, target string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python, "-u", filepath.Join(Root(), script))
	cmd.Dir = filepath.Dir(filepath.Join(Root(), script))
	cmd.Env = append(os.Environ(), append([]string{"EXAMPLE_TARGET=" + target,
		"PYTHONPATH=" + strings.Join(pythonPath, ":")}, env...)...)
	return run(t, cmd)
}

// Contains fails the test unless out contains every one of want.
func Contains(t testing.TB, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// Lines returns out's non-empty lines without Go log timestamps, for
// comparing a Go program's output with a Python one's.
func Lines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// Must is a small helper for fmt-style failures in examples' tests.
func Must(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
