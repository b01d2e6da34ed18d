package data_transmission_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
	goServer := exampletest.GoServer(t, "./examples/data_transmission/server")
	pyServer := exampletest.PythonServer(t, "examples/data_transmission/python/server.py", []string{stubs})
	exampletest.Contains(t, "go server", goServer.WaitOutput("------------------start Go GRPC server"), "------------------start Go GRPC server")
	exampletest.Contains(t, "python server", pyServer.WaitOutput("------------------start Python GRPC server"), "------------------start Python GRPC server")
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
		{"go client → go server", run(exec.Command(goClient, "--target="+goServer.Target)), clientLines("Go")},
		{"python client → go server", run(pythonClient(goServer.Target)), clientLines("Go")},
		{"go client → python server", run(exec.Command(goClient, "--target="+pyServer.Target)), clientLines("Python")},
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
	exampletest.Contains(t, "go server", goServer.WaitOutput(fromBoth...), fromBoth...)
	exampletest.Contains(t, "python server", pyServer.WaitOutput(serverLines("Go")...), serverLines("Go")...)
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
