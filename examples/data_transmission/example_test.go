package data_transmission_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

// clientLines is everything a client prints when the server written in
// serverLang answers: the same for the Go and the Python client.
func clientLines(serverLang string) []string {
	var l []string
	l = append(l, "--------------Call SimpleMethod Begin--------------",
		"resp from server(1), the message="+serverLang+" server SimpleMethod Ok!!!!",
		"--------------Call SimpleMethod Over---------------",
		"--------------Call ClientStreamingMethod Begin--------------",
		"resp from server(1), the message="+serverLang+" server ClientStreamingMethod ok",
		"--------------Call ClientStreamingMethod Over---------------",
		"--------------Call ServerStreamingMethod Begin--------------")
	for i := range 5 {
		l = append(l, fmt.Sprintf("recv from server(1), message=send by %s server, message=%d", serverLang, i))
	}
	l = append(l, "--------------Call ServerStreamingMethod Over---------------",
		"--------------Call BidirectionalStreamingMethod Begin---------------")
	for i := range 5 {
		l = append(l, fmt.Sprintf("recv from server(1), message=send by %s server, message= %d", serverLang, i))
	}
	return append(l, "--------------Call BidirectionalStreamingMethod Over---------------")
}

// serverLines is what a server prints for one run of the client written
// in clientLang (lines of concurrent clients interleave).
func serverLines(clientLang string) []string {
	l := []string{
		"SimpleMethod called by client(1) the message: called by " + clientLang + " client",
		"ClientStreamingMethod called by client...",
		"ServerStreamingMethod called by client(1), message= called by " + clientLang + " client",
		"BidirectionalStreamingMethod called by client...",
	}
	for i := range 5 {
		l = append(l, fmt.Sprintf("recv from client(1), message= called by %s client, message:%d", clientLang, i),
			fmt.Sprintf("recv from client(1), message= called by %s client, message: %d", clientLang, i))
	}
	return l
}

// TestDataTransmission runs the Go client against the Go server, and
// across languages the Python client against the Go server and the Go
// client against the Python server, all three at once (the bidirectional
// call alone takes five seconds, a request a second). Each client prints
// exactly the original's lines, and each server prints every request it
// received from either kind of client.
func TestDataTransmission(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/data_transmission/demo/demo.proto")
	goServer := startServer(t, exec.Command(exampletest.Go(t, "./examples/data_transmission/server")), "")
	pyServer := startServer(t, exec.Command(exampletest.Python, "-u", filepath.Join(exampletest.Root(), "examples/data_transmission/python/server.py")), stubs)
	exampletest.Contains(t, "go server", goServer.wait([]string{"------------------start Go GRPC server"}), "------------------start Go GRPC server")
	exampletest.Contains(t, "python server", pyServer.wait([]string{"------------------start Python GRPC server"}), "------------------start Python GRPC server")
	goClient := exampletest.Go(t, "./examples/data_transmission/client")
	pyClient := filepath.Join(exampletest.Root(), "examples/data_transmission/python/client.py")
	pythonClient := func(target string) *exec.Cmd {
		cmd := exec.Command(exampletest.Python, "-u", pyClient)
		cmd.Dir = filepath.Dir(pyClient)
		cmd.Env = append(os.Environ(), "EXAMPLE_TARGET="+target, "PYTHONPATH="+stubs)
		return cmd
	}

	// The three clients run at once (whatever -parallel is), then each
	// one's output is checked.
	runs := []struct {
		name string
		out  <-chan result
		want []string
	}{
		{"go client → go server", run(exec.Command(goClient, "--target="+goServer.target)), clientLines("Go")},
		{"python client → go server", run(pythonClient(goServer.target)), clientLines("Go")},
		{"go client → python server", run(exec.Command(goClient, "--target="+pyServer.target)), clientLines("Python")},
	}
	for _, r := range runs {
		res := <-r.out
		if res.err != nil {
			t.Fatalf("%s: %v\n%s", r.name, res.err, res.out)
		}
		if got := exampletest.Lines(res.out); !slices.Equal(got, r.want) {
			t.Errorf("%s: client printed\n%s\nwant\n%s", r.name, strings.Join(got, "\n"), strings.Join(r.want, "\n"))
		}
	}
	fromBoth := append(serverLines("Go"), serverLines("Python")...)
	exampletest.Contains(t, "go server", goServer.wait(fromBoth), fromBoth...)
	exampletest.Contains(t, "python server", pyServer.wait(serverLines("Go")), serverLines("Go")...)
}

type result struct {
	out string
	err error
}

// run runs a client within exampletest.Timeout in the background.
func run(cmd *exec.Cmd) <-chan result {
	ch := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
		defer cancel()
		c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
		c.Dir, c.Env = cmd.Dir, cmd.Env
		out, err := c.CombinedOutput()
		ch <- result{string(out), err}
	}()
	return ch
}

// syncBuffer collects a process's output; it can be read while the
// process runs (exampletest.Proc's buffer cannot be read race-free before
// the process ends).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

type server struct {
	target string
	out    *syncBuffer
}

func (s *server) Output() string {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.b.String()
}

// wait returns the server's output once it has every one of lines (its
// last lines may still be in the pipe when a client is done), or after
// ten seconds.
func (s *server) wait(lines []string) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.Output()
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

// startServer starts a Go server binary (pythonPath == "") or a Python
// server script with the exampletest conventions (a kernel-chosen
// 127.0.0.1 port, written to a port file) and waits until it serves.
func startServer(t *testing.T, cmd *exec.Cmd, pythonPath string) *server {
	t.Helper()
	pf := filepath.Join(t.TempDir(), "port")
	if pythonPath == "" {
		cmd.Args = append(cmd.Args, "--addr=127.0.0.1:0", "--port_file="+pf)
	} else {
		cmd.Dir = filepath.Dir(cmd.Args[len(cmd.Args)-1])
		cmd.Env = append(os.Environ(), "EXAMPLE_ADDR=127.0.0.1:0", "EXAMPLE_PORT_FILE="+pf, "PYTHONPATH="+pythonPath)
	}
	s := &server{out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	exampletest.Must(t, cmd.Start(), "start %v", cmd.Args)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	deadline := time.After(exampletest.Timeout)
	for {
		if b, err := os.ReadFile(pf); err == nil && len(bytes.TrimSpace(b)) > 0 {
			s.target = "127.0.0.1:" + strings.TrimSpace(string(b))
			return s
		}
		select {
		case <-exited:
			t.Fatalf("%v exited before serving:\n%s", cmd.Args, s.Output())
		case <-deadline:
			t.Fatalf("%v did not serve within %v:\n%s", cmd.Args, exampletest.Timeout, s.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
