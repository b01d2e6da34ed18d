package interceptors_test

import (
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const (
	headersServerPkg    = "./examples/interceptors/headers/greeter_server"
	headersClientPkg    = "./examples/interceptors/headers/greeter_client"
	headersServerScript = "examples/interceptors/headers/python/greeter_server.py"
	headersClientScript = "examples/interceptors/headers/python/greeter_client.py"

	defaultValueClientPkg    = "./examples/interceptors/default_value/greeter_client"
	defaultValueClientScript = "examples/interceptors/default_value/python/greeter_client.py"

	greeted        = "Greeter client received: Hello, you!"
	defaultGreeted = "Greeter client received: Hello from your local interceptor!"
)

// only fails the test unless out is exactly the one line want.
func only(t *testing.T, what, out, want string) {
	t.Helper()
	if got := exampletest.Lines(out); !slices.Equal(got, []string{want}) {
		t.Errorf("%s: printed\n%s\nwant\n%s", what, out, want)
	}
}

// sayHello calls target's greeter directly (no interceptor) with md.
func sayHello(t *testing.T, target string, md grpc.Metadata) (*pb.HelloReply, error) {
	t.Helper()
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		t.Fatal(err)
	}
	defer channel.Close()
	return pb.NewGreeterStub(channel).SayHello.Call(&pb.HelloRequest{Name: "you"},
		grpc.WithTimeout(20*time.Second), grpc.WithMetadata(md))
}

// TestHeaders: the header-adding client gets through the validating
// server, Go and Python on either side; the server's interceptor refuses,
// with UNAUTHENTICATED "Access denied!" and before any handler, an RPC
// without the header or with another value, and lets through the one
// with it.
func TestHeaders(t *testing.T) {
	leakcheck.Check(t)
	py := []string{exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")}
	servers := map[string]*exampletest.Proc{
		"go":     exampletest.GoServer(t, headersServerPkg),
		"python": exampletest.PythonServer(t, headersServerScript, py),
	}
	for name, s := range servers {
		only(t, "go client → "+name, exampletest.GoClient(t, headersClientPkg, s.Target), greeted)
		only(t, "python client → "+name, exampletest.PythonClient(t, headersClientScript, py, s.Target), greeted)

		for _, md := range []grpc.Metadata{
			nil,
			grpc.Pairs("one-time-password", "41"),
			grpc.Pairs("one-time-password-bin", "42"),
		} {
			_, err := sayHello(t, s.Target, md)
			var rpcError *grpc.RpcError
			if !errors.As(err, &rpcError) || rpcError.Code() != grpc.StatusCodeUnauthenticated || rpcError.Details() != "Access denied!" {
				t.Errorf("%s server, metadata %v: %v, want UNAUTHENTICATED \"Access denied!\"", name, md, err)
			}
		}
		reply, err := sayHello(t, s.Target, grpc.Pairs("x-before", "1", "one-time-password", "42"))
		if err != nil || reply.GetMessage() != "Hello, you!" {
			t.Errorf("%s server, with the header: %v, %v", name, reply, err)
		}
	}
}

// TestDefaultValue: the default-value client prints the server's greeting
// when the RPC succeeds, and the interceptor's default instead when it
// fails: against the headers server (UNAUTHENTICATED, this client sends no
// one-time password) and against a port nobody listens on (UNAVAILABLE).
// Go and Python clients; helloworld's Go and Python greeter servers.
func TestDefaultValue(t *testing.T) {
	py := []string{exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	targets := []struct {
		name, target, want string
	}{
		{"helloworld go server", exampletest.GoServer(t, "./examples/helloworld/greeter_server").Target, greeted},
		{"helloworld python server", exampletest.PythonServer(t, "examples/helloworld/python/greeter_server.py", py).Target, greeted},
		{"headers go server (UNAUTHENTICATED)", exampletest.GoServer(t, headersServerPkg).Target, defaultGreeted},
		{"headers python server (UNAUTHENTICATED)", exampletest.PythonServer(t, headersServerScript, py).Target, defaultGreeted},
		{"no server (UNAVAILABLE)", closed, defaultGreeted},
	}
	exampletest.Go(t, defaultValueClientPkg)
	for _, c := range targets {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			only(t, "go client", exampletest.GoClient(t, defaultValueClientPkg, c.target), c.want)
			only(t, "python client", exampletest.PythonClient(t, defaultValueClientScript, py, c.target), c.want)
		})
	}
}

// TestAuthPair runs the repository's own authentication-header pair
// (auth_server, auth_client) as scripts/demo.sh does.
func TestAuthPair(t *testing.T) {
	s := exampletest.GoServer(t, "./examples/interceptors/auth_server")
	out := exampletest.GoClient(t, "./examples/interceptors/auth_client", s.Target)
	want := []string{
		"Without a token: StatusCode.UNAUTHENTICATED (missing or invalid bearer token)",
		"With the token: Hello, you!",
	}
	if got := exampletest.Lines(out); !slices.Equal(got, want) {
		t.Errorf("auth_client printed\n%s\nwant\n%v", out, want)
	}
}
