package metadata_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
)

const (
	serverPkg    = "./examples/metadata/metadata_server"
	clientPkg    = "./examples/metadata/metadata_client"
	serverScript = "examples/metadata/python/metadata_server.py"
	clientScript = "examples/metadata/python/metadata_client.py"
)

// What every client prints: the reply and the server's two trailing
// metadata entries, the binary one as Python prints bytes.
var wantClient = []string{
	"Greeter client received: Hello, you!",
	"Greeter client received trailing metadata: key=checksum-bin value=b'I agree'",
	"Greeter client received trailing metadata: key=retry value=false",
}

// What every server prints for one call, after the client library's
// user-agent line: the client's three entries, in the order sent, the
// -bin value decoded from the wire's base64 back to its bytes.
var wantServer = []string{
	"Received initial metadata: key=initial-metadata-1 value=The value should be str",
	"Received initial metadata: key=binary-metadata-bin value=b'With -bin surffix, the value can be bytes'",
	"Received initial metadata: key=accesstoken value=gRPC Python is great",
}

// TestMetadata runs each client against a server of its own, in parallel:
// Go against Go, the Python client against the Go server, the Go client
// against the Python server, and the Python pair. The client sends its
// metadata and reads the trailing metadata through with_call (WithCall);
// the server prints what arrived.
func TestMetadata(t *testing.T) {
	py := []string{exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")}
	exampletest.Go(t, serverPkg)
	exampletest.Go(t, clientPkg)
	type client struct {
		userAgent string // the prefix of the user-agent the server sees
		run       func(t *testing.T, target string) string
	}
	goClient := client{"grpcpy/", func(t *testing.T, target string) string { return exampletest.GoClient(t, clientPkg, target) }}
	pyClient := client{"grpc-python/", func(t *testing.T, target string) string {
		return exampletest.PythonClient(t, clientScript, py, target)
	}}
	goServer := func(t *testing.T) *exampletest.Proc { return exampletest.GoServer(t, serverPkg) }
	pyServer := func(t *testing.T) *exampletest.Proc { return exampletest.PythonServer(t, serverScript, py) }
	for _, pair := range []struct {
		name   string
		client client
		server func(t *testing.T) *exampletest.Proc
	}{
		{"go→go", goClient, goServer},
		{"python→go", pyClient, goServer},
		{"go→python", goClient, pyServer},
		{"python→python", pyClient, pyServer},
	} {
		t.Run(pair.name, func(t *testing.T) {
			t.Parallel()
			server := pair.server(t)
			out := pair.client.run(t, server.Target)
			if got := exampletest.Lines(out); !slices.Equal(got, wantClient) {
				t.Errorf("client printed\n%s\nwant\n%s", out, strings.Join(wantClient, "\n"))
			}

			// A server's last lines may still be in the pipe.
			served := server.WaitOutput(wantServer...)
			var userAgents, entries []string
			for _, l := range exampletest.Lines(served) {
				if ua, ok := strings.CutPrefix(l, "Received initial metadata: key=user-agent value="); ok {
					userAgents = append(userAgents, ua)
				} else if strings.HasPrefix(l, "Received initial metadata: ") {
					entries = append(entries, l)
				}
			}
			if !slices.Equal(entries, wantServer) {
				t.Errorf("server printed\n%s\nwant\n%s", served, strings.Join(wantServer, "\n"))
			}
			if len(userAgents) != 1 || !strings.HasPrefix(userAgents[0], pair.client.userAgent) {
				t.Errorf("server saw user-agents %q, want one starting with %q", userAgents, pair.client.userAgent)
			}
		})
	}
}
