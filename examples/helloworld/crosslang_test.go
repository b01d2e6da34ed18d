package helloworld_test

import (
	"testing"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

// TestCrossLanguage runs the Go and the Python greeter clients against
// the Go and the Python greeter servers: four pairs, one answer.
func TestCrossLanguage(t *testing.T) {
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{stubs}
	const want = "Greeter client received: Hello, you!"
	servers := map[string]*exampletest.Proc{
		"go":     exampletest.GoServer(t, "./examples/helloworld/greeter_server"),
		"python": exampletest.PythonServer(t, "examples/helloworld/python/greeter_server.py", py),
	}
	for name, s := range servers {
		exampletest.Contains(t, "go client → "+name, exampletest.GoClient(t, "./examples/helloworld/greeter_client", s.Target), want)
		exampletest.Contains(t, "go client with options → "+name,
			exampletest.GoClient(t, "./examples/helloworld/greeter_client_with_options", s.Target), want)
		exampletest.Contains(t, "python client → "+name,
			exampletest.PythonClient(t, "examples/helloworld/python/greeter_client.py", py, s.Target),
			"Will try to greet world ...", want)
		exampletest.Contains(t, "python client with options → "+name,
			exampletest.PythonClient(t, "examples/helloworld/python/greeter_client_with_options.py", py, s.Target), want)
	}
}
