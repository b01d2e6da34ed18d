package errors_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

const (
	serverPkg    = "./examples/errors/server"
	clientPkg    = "./examples/errors/client"
	serverScript = "examples/errors/python/server.py"
	clientScript = "examples/errors/python/client.py"
	standin      = "examples/errors/python/standin"
)

// What a refused client logs, in Go and in Python: the error (its status
// and details) and the QuotaFailure detail decoded from the
// grpc-status-details-bin trailer (Go prints it in protobuf-go's text
// form, Python in its own, so the check is on the quoted values).
var refused = []string{
	"Call failure: ",
	"StatusCode.RESOURCE_EXHAUSTED",
	`details = "Request limit exceeded."`,
	"Quota failure: ",
	`"name: Alice"`,
	`"Limit one greeting per person"`,
}

// Python's text format of the QuotaFailure (str(info)), printed by the
// Python client.
var pythonQuotaFailure = []string{
	"Quota failure: violations {",
	`  subject: "name: Alice"`,
	`  description: "Limit one greeting per person"`,
}

// googleRPCStubs compiles standin/google/rpc/*.proto (google.rpc.Status,
// Code, QuotaFailure: what PyPI's googleapis-common-protos provides) into
// google/rpc/*_pb2.py in a temporary directory.
func googleRPCStubs(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	dir := filepath.Join(exampletest.Root(), standin)
	args := []string{"-m", "grpc_tools.protoc", "-I", dir, "--python_out=" + out}
	for _, p := range []string{"status.proto", "code.proto", "error_details.proto"} {
		args = append(args, filepath.Join(dir, "google", "rpc", p))
	}
	if b, err := exec.Command(exampletest.Python, args...).CombinedOutput(); err != nil {
		t.Fatalf("grpc_tools.protoc google/rpc: %v\n%s", err, b)
	}
	return out
}

// TestErrors: each server greets Alice once. Against a fresh server the
// first client is greeted, every later one, in either language, is
// refused with RESOURCE_EXHAUSTED "Request limit exceeded." and a
// QuotaFailure detail it decodes from the trailing metadata (the original
// test's two process() calls, across processes and languages): the Python
// client decodes the Go server's grpc-status-details-bin, the Go client
// (grpc/status.FromCall) the Python server's.
func TestErrors(t *testing.T) {
	py := []string{
		exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto"),
		googleRPCStubs(t),
		filepath.Join(exampletest.Root(), standin), // grpc_status.rpc_status
	}
	goClient := func(target string) string { return exampletest.GoClient(t, clientPkg, target) }
	pyClient := func(target string) string { return exampletest.PythonClient(t, clientScript, py, target) }

	goServer := exampletest.GoServer(t, serverPkg)
	pyServer := exampletest.PythonServer(t, serverScript, py)
	secondGoServer := exampletest.GoServer(t, serverPkg)

	// Greeted. Python's logging.basicConfig() hides INFO, so the Python
	// client prints nothing when greeted; Go's slog shows the INFO line.
	exampletest.Contains(t, "go client → go server, first", goClient(goServer.Target), "Call success: Hello, Alice!")
	exampletest.Contains(t, "go client → python server, first", goClient(pyServer.Target), "Call success: Hello, Alice!")
	if out := pyClient(secondGoServer.Target); strings.Contains(out, "Call failure") {
		t.Errorf("python client → go server, first: refused:\n%s", out)
	}

	// Refused.
	for _, c := range []struct {
		what, out string
		python    bool
	}{
		{"python client → go server, again", pyClient(goServer.Target), true},
		{"go client → go server, again", goClient(goServer.Target), false},
		{"go client → python server, again", goClient(pyServer.Target), false},
		{"python client → python server, again", pyClient(pyServer.Target), true},
		{"go client → go server, after a python client", goClient(secondGoServer.Target), false},
	} {
		exampletest.Contains(t, c.what, c.out, refused...)
		if c.python {
			exampletest.Contains(t, c.what, c.out, pythonQuotaFailure...)
		}
		if strings.Contains(c.out, "Call success") || strings.Contains(c.out, "Unexpected failure") {
			t.Errorf("%s: greeted twice, or an unexpected detail:\n%s", c.what, c.out)
		}
		t.Logf("%s:\n%s", c.what, c.out)
	}
	for _, s := range []*exampletest.Proc{goServer, pyServer, secondGoServer} {
		if strings.Contains(s.Output(), "Traceback") || strings.Contains(s.Output(), "panic") {
			t.Errorf("a server failed:\n%s", s.Output())
		}
	}
}
