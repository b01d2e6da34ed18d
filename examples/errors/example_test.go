package errors_test

import (
	"strings"
	"testing"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

const (
	serverPkg    = "./examples/errors/server"
	clientPkg    = "./examples/errors/client"
	serverScript = "examples/errors/python/server.py"
	clientScript = "examples/errors/python/client.py"
)

// What a refused client logs, in Go and in Python: the error (its status
// and details) and the status line that stands in for the original's
// QuotaFailure detail.
var refused = []string{
	"Call failure: ",
	"StatusCode.RESOURCE_EXHAUSTED",
	`details = "Request limit exceeded."`,
	"Status: code=StatusCode.RESOURCE_EXHAUSTED details=Request limit exceeded.",
}

// TestErrors: each server greets Alice once. Against a fresh server the
// first client is greeted, every later one, in either language, is
// refused with RESOURCE_EXHAUSTED "Request limit exceeded." (the original
// test's two process() calls, across processes and languages).
func TestErrors(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{stubs}
	goClient := func(target string) string { return exampletest.GoClient(t, clientPkg, target) }
	pyClient := func(target string) string { return exampletest.PythonClient(t, clientScript, py, target) }

	goServer := exampletest.GoServer(t, serverPkg).Target
	pyServer := exampletest.PythonServer(t, serverScript, py).Target
	secondGoServer := exampletest.GoServer(t, serverPkg).Target

	// Greeted. Python's logging.basicConfig() hides INFO, so the Python
	// client prints nothing when greeted; Go's slog shows the INFO line.
	exampletest.Contains(t, "go client → go server, first", goClient(goServer), "Call success: Hello, Alice!")
	exampletest.Contains(t, "go client → python server, first", goClient(pyServer), "Call success: Hello, Alice!")
	if out := pyClient(secondGoServer); strings.Contains(out, "Call failure") {
		t.Errorf("python client → go server, first: refused:\n%s", out)
	}

	// Refused.
	for _, c := range []struct {
		what, out string
	}{
		{"python client → go server, again", pyClient(goServer)},
		{"go client → go server, again", goClient(goServer)},
		{"go client → python server, again", goClient(pyServer)},
		{"python client → python server, again", pyClient(pyServer)},
		{"go client → go server, after a python client", goClient(secondGoServer)},
	} {
		exampletest.Contains(t, c.what, c.out, refused...)
		if strings.Contains(c.out, "Call success") {
			t.Errorf("%s: greeted twice:\n%s", c.what, c.out)
		}
	}
}
