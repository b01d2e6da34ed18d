package uds_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

// addresses are the three forms of Unix socket address in a fresh temp
// dir: the original's relative unix:helloworld.sock (relative to the
// process's working directory, dir/cwd) and unix://absolute_path, and an
// abstract socket (Linux), named after the test process.
func addresses(t *testing.T, name string) (cwd string, addrs []string, files []string) {
	dir := t.TempDir()
	cwd = filepath.Join(dir, "cwd")
	exampletest.Must(t, os.Mkdir(cwd, 0o755), "mkdir")
	addrs = []string{
		"unix:helloworld.sock",
		"unix://" + filepath.Join(dir, "helloworld.sock"),
		fmt.Sprintf("unix-abstract:grpcpy_uds_test_%d_%s", os.Getpid(), name),
	}
	return cwd, addrs, []string{filepath.Join(cwd, "helloworld.sock"), filepath.Join(dir, "helloworld.sock")}
}

// TestUDS serves the Greeter on the three Unix socket addresses only, from
// the Go server and from the Python one, and calls each address from the Go
// client and the Python client (Go → Go, Python → Go, Go → Python). Each
// call is answered "Hello to unix:!" (the peer is the client's unnamed end
// of the socket), the socket files and the abstract name exist while the
// server runs, and the Go server stops cleanly on SIGTERM, removing its
// socket files.
func TestUDS(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	goClient := exampletest.Go(t, "./examples/uds/greeter_client")
	pyClient := filepath.Join(exampletest.Root(), "examples/uds/python/greeter_client.py")
	want := []string{"INFO:root:Received: Hello to unix:!", "INFO:root:Received: Hello to unix:!", "INFO:root:Received: Hello to unix:!"}

	for _, server := range []string{"go", "python"} {
		t.Run(server+" server", func(t *testing.T) {
			cwd, addrs, files := addresses(t, server)
			list := strings.Join(addrs, ",")
			var cmd *exec.Cmd
			if server == "go" {
				cmd = exec.Command(exampletest.Go(t, "./examples/uds/greeter_server"), "--addr="+list)
			} else {
				cmd = exec.Command(exampletest.Python, "-u", filepath.Join(exampletest.Root(), "examples/uds/python/greeter_server.py"))
				cmd.Env = append(os.Environ(), "EXAMPLE_ADDR="+list, "PYTHONPATH="+stubs)
			}
			s := startServer(t, cmd, cwd)
			var listening []string
			for _, a := range addrs {
				listening = append(listening, "INFO:root:Server listening on: "+a)
			}
			exampletest.Contains(t, server+" server", s.wait(listening[len(listening)-1]), listening...)
			for _, f := range files {
				if fi, err := os.Stat(f); err != nil || fi.Mode()&os.ModeSocket == 0 {
					t.Errorf("%s server: no socket at %s (%v)", server, f, err)
				}
			}
			unix, err := os.ReadFile("/proc/net/unix")
			exampletest.Must(t, err, "read /proc/net/unix")
			if abstract := "@" + strings.TrimPrefix(addrs[2], "unix-abstract:"); !bytes.Contains(unix, []byte(abstract)) {
				t.Errorf("%s server: no abstract socket %s in /proc/net/unix", server, abstract)
			}

			clients := map[string]*exec.Cmd{"go": exec.Command(goClient, "--target="+list)}
			if server == "go" {
				py := exec.Command(exampletest.Python, "-u", pyClient)
				py.Env = append(os.Environ(), "EXAMPLE_TARGET="+list, "PYTHONPATH="+stubs)
				clients["python"] = py
			}
			for name, c := range clients {
				if got := exampletest.Lines(runClient(t, c, cwd)); !slices.Equal(got, want) {
					t.Errorf("%s client → %s server printed %q, want %q", name, server, got, want)
				}
			}

			if server == "go" {
				exampletest.Must(t, s.cmd.Process.Signal(syscall.SIGTERM), "SIGTERM")
				select {
				case <-s.exited:
					if !s.cmd.ProcessState.Success() {
						t.Errorf("go server exited with %v after SIGTERM:\n%s", s.cmd.ProcessState, s.out.String())
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("go server did not stop within 20s of SIGTERM")
				}
				for _, f := range files {
					if _, err := os.Stat(f); !os.IsNotExist(err) {
						t.Errorf("go server left %s behind (%v)", f, err)
					}
				}
			}
		})
	}
}

// runClient runs a client in dir within exampletest.Timeout and returns
// its output; it fails the test if the client fails.
func runClient(t *testing.T, cmd *exec.Cmd, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env, c.Dir = cmd.Env, dir
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", c.Args, err, out)
	}
	return string(out)
}

type server struct {
	cmd    *exec.Cmd
	exited chan struct{}
	out    exampletest.SyncBuffer
}

// wait returns the server's output once it contains line (output may lag
// behind what the server did), or after ten seconds.
func (s *server) wait(line string) string {
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.out.String(), line) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return s.out.String()
}

// startServer starts a server in dir with a port file (the exampletest
// convention; a Unix socket's "port" is 1) and waits until it serves.
// exampletest.GoServer and PythonServer listen on TCP and run in fixed
// directories, and exampletest.Start's Proc keeps the process's exit to
// itself, which TestUDS checks after SIGTERM, so the UDS servers are
// started here.
func startServer(t *testing.T, cmd *exec.Cmd, dir string) *server {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "port")
	if cmd.Env == nil {
		cmd.Args = append(cmd.Args, "--port_file="+pf)
	} else {
		cmd.Env = append(cmd.Env, "EXAMPLE_PORT_FILE="+pf)
	}
	cmd.Dir = dir
	s := &server{cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	exampletest.Must(t, cmd.Start(), "start %v", cmd.Args)
	go func() { cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-s.exited })
	deadline := time.After(exampletest.Timeout)
	for {
		if b, err := os.ReadFile(pf); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("%v exited before serving:\n%s", cmd.Args, s.out.String())
		case <-deadline:
			t.Fatalf("%v did not serve within %v:\n%s", cmd.Args, exampletest.Timeout, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
