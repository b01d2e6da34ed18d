package auth_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const (
	serverPkg    = "./examples/auth/customized_auth_server"
	clientPkg    = "./examples/auth/customized_auth_client"
	serverScript = "examples/auth/python/customized_auth_server.py"
	clientScript = "examples/auth/python/customized_auth_client.py"

	received = `Received message: message: "Hello, you!"`
)

// credentialsDir writes fresh credentials with the example's gencerts
// (package testcerts underneath) into a temporary directory: nothing
// secret is committed.
func credentialsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(exampletest.Go(t, "./examples/auth/gencerts"), "--dir="+dir).CombinedOutput()
	exampletest.Must(t, err, "gencerts: %s", out)
	return dir
}

// sayHello calls the server from this process the way the original test
// does, with the channel it is given, and returns the status code.
func sayHello(t *testing.T, channel *grpc.Channel) (grpc.StatusCode, string) {
	t.Helper()
	defer channel.Close()
	reply, err := pb.NewGreeterStub(channel).SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(10*time.Second))
	var rpcErr *grpc.RpcError
	switch {
	case err == nil:
		return grpc.StatusCodeOK, reply.GetMessage()
	case errors.As(err, &rpcErr):
		return rpcErr.Code(), rpcErr.Details()
	}
	t.Fatalf("SayHello: %v", err)
	return 0, ""
}

// signWith is a metadata plugin sending x-signature: sign(method name).
func signWith(sign func(string) string) *grpc.CallCredentials {
	return grpc.MetadataCallCredentials(grpc.AuthMetadataPluginFunc(
		func(c grpc.AuthMetadataContext, callback grpc.AuthMetadataPluginCallback) {
			callback(grpc.Pairs("x-signature", sign(c.MethodName)), nil)
		}), "test signer")
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// TestAuth runs the Go and the Python client against the Go and the
// Python server over TLS with the generated credentials, then the
// original test's refusals against each server, from this process: no
// TLS (UNAVAILABLE), TLS without call credentials and TLS with a wrong
// signature (UNAUTHENTICATED "Invalid signature", from the interceptor).
func TestAuth(t *testing.T) {
	leakcheck.Check(t)
	dir := credentialsDir(t)
	root, err := os.ReadFile(filepath.Join(dir, "root.crt"))
	exampletest.Must(t, err, "read root.crt")
	stubs := exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto")
	py := []string{stubs}
	env := "EXAMPLE_CREDENTIALS_DIR=" + dir

	servers := []struct {
		name string
		proc *exampletest.Proc
	}{
		{"go", exampletest.GoServer(t, serverPkg, "--credentials_dir="+dir)},
		{"python", exampletest.PythonServer(t, serverScript, py, env)},
	}
	for _, s := range servers {
		// The clients: signed RPCs over TLS are answered.
		for client, out := range map[string]string{
			"go":     exampletest.GoClient(t, clientPkg, s.proc.Target, "--credentials_dir="+dir),
			"python": exampletest.PythonClient(t, clientScript, py, s.proc.Target, env),
		} {
			what := client + " client → " + s.name + " server"
			exampletest.Contains(t, what, out, received)
			if strings.Contains(out, "Received error") {
				t.Errorf("%s: %s", what, out)
			}
		}

		// The refusals.
		tls := func(call ...*grpc.CallCredentials) *grpc.Channel {
			creds, err := grpc.SslChannelCredentials(root, nil, nil)
			exampletest.Must(t, err, "ssl_channel_credentials")
			if len(call) > 0 {
				creds, err = grpc.CompositeChannelCredentials(creds, call...)
				exampletest.Must(t, err, "composite_channel_credentials")
			}
			ch, err := grpc.SecureChannel(s.proc.Target, creds)
			exampletest.Must(t, err, "secure_channel")
			return ch
		}
		insecure, err := grpc.InsecureChannel(s.proc.Target)
		exampletest.Must(t, err, "insecure_channel")
		for _, c := range []struct {
			what           string
			channel        *grpc.Channel
			code           grpc.StatusCode
			detailsOrReply string
		}{
			{"signed", tls(signWith(reverse)), grpc.StatusCodeOK, "Hello, you!"},
			{"no channel credential", insecure, grpc.StatusCodeUnavailable, ""},
			{"no call credential", tls(), grpc.StatusCodeUnauthenticated, "Invalid signature"},
			{"wrong signature", tls(signWith(func(m string) string { return m })), grpc.StatusCodeUnauthenticated, "Invalid signature"},
		} {
			code, text := sayHello(t, c.channel)
			if code != c.code || (c.detailsOrReply != "" && text != c.detailsOrReply) {
				t.Errorf("%s server, %s: %s %q, want %s %q", s.name, c.what, code, text, c.code, c.detailsOrReply)
			}
		}
	}
}
