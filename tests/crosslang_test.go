// Package tests holds end-to-end tests against peers of other
// implementations: grpcio 1.51 (Debian's python3-grpcio, run with
// /usr/bin/python3) through tests/python/peer.py.
package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
	"github.com/grpcpy/grpcpy/internal/testcerts"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const python = "/usr/bin/python3"

// needPython fails (not skips) when grpcio is missing: the README's test
// command installs it, so its absence is a broken set-up, not a reason to
// pass. GRPCPY_SKIP_PYTHON=1 skips on purpose.
func needPython(t *testing.T) {
	t.Helper()
	if os.Getenv("GRPCPY_SKIP_PYTHON") == "1" {
		t.Skip("GRPCPY_SKIP_PYTHON=1")
	}
	out, err := exec.Command(python, "-c", "import grpc; print(grpc.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("grpcio is not importable by %s (apt-get install python3-grpcio): %v\n%s", python, err, out)
	}
	t.Logf("grpcio %s", strings.TrimSpace(string(out)))
}

// tlsFiles writes a CA, a server and a client certificate to a temp dir.
type tlsFiles struct {
	dir             string
	ca              *testcerts.CA
	server, client  testcerts.Leaf
	caPath          string
	srvCert, srvKey string
	cliCert, cliKey string
}

func writeTLS(t *testing.T) tlsFiles {
	dir := t.TempDir()
	ca := testcerts.NewCA("cross-language CA")
	f := tlsFiles{dir: dir, ca: ca, server: ca.Server("server"), client: ca.Client("client.grpcpy.test")}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.caPath = write("ca.pem", ca.CertPEM)
	f.srvCert, f.srvKey = write("server.pem", f.server.CertPEM), write("server.key", f.server.KeyPEM)
	f.cliCert, f.cliKey = write("client.pem", f.client.CertPEM), write("client.key", f.client.KeyPEM)
	return f
}

func shapes() grpc.GenericRpcHandler {
	return grpc.MethodHandlersGenericHandler("test.Shapes", map[string]*grpc.RpcMethodHandler{
		"UU": grpc.UnaryUnaryRpcMethodHandler(func(req any, _ *grpc.ServicerContext) (any, error) { return req, nil }),
		"US": grpc.UnaryStreamRpcMethodHandler(func(req any, _ *grpc.ServicerContext) iter.Seq2[any, error] {
			return grpc.Requests[any](req, []byte(fmt.Sprintf("%s-1", req)), []byte(fmt.Sprintf("%s-2", req)))
		}),
		"SU": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) (any, error) {
			var parts []string
			for r, err := range reqs {
				if err != nil {
					return nil, err
				}
				parts = append(parts, string(r.([]byte)))
			}
			return []byte(strings.Join(parts, "+")), nil
		}),
		"SS": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] {
			return reqs
		}),
	})
}

// TestGrpcioClientToGoServerOverMutualTLS: a grpcio client with a client
// certificate, a metadata plugin and a per-call access token calls a Go
// server that requires client certificates.
func TestGrpcioClientToGoServerOverMutualTLS(t *testing.T) {
	needPython(t)
	leakcheck.Check(t)
	f := writeTLS(t)
	type seen struct {
		key    string
		ids    []string
		plugin []string
		token  []string
	}
	got := make(chan seen, 1)
	who := grpc.MethodHandlersGenericHandler("test.Sec", map[string]*grpc.RpcMethodHandler{
		"WhoAmI": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			md := ctx.InvocationMetadata()
			got <- seen{ctx.PeerIdentityKey(), ctx.PeerIdentities(), md.Get("x-plugin"), md.Get("authorization")}
			return []byte(`{"go":"server"}`), nil
		}),
	})
	s, err := grpc.NewServer(nil, grpc.WithHandlers(who, shapes()))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := grpc.SslServerCredentials([]grpc.PrivateKeyCertificateChainPair{
		{PrivateKey: f.server.KeyPEM, CertificateChain: f.server.CertPEM}}, f.ca.CertPEM, true)
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.AddSecurePort("127.0.0.1:0", creds)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Stop(grpc.NoGrace)

	cmd := exec.Command(python, "python/peer.py", "client", fmt.Sprintf("--target=127.0.0.1:%d", port),
		"--ca="+f.caPath, "--cert="+f.cliCert, "--key="+f.cliKey, "--override=foo.test.google.fr")
	out, err := runWithTimeout(cmd, 60*time.Second)
	if err != nil {
		t.Fatalf("grpcio client: %v\n%s", err, out)
	}
	var res struct {
		UU, SU string
		US, SS []string
	}
	if err := json.Unmarshal(lastLine(out), &res); err != nil {
		t.Fatalf("grpcio client output %q: %v", out, err)
	}
	if res.UU != "a" || strings.Join(res.US, ",") != "a,a-1,a-2" || res.SU != "a+b+c" || strings.Join(res.SS, ",") != "a,b,c" {
		t.Fatalf("four shapes from grpcio: %+v", res)
	}
	select {
	case s := <-got:
		if len(s.ids) == 0 || s.ids[0] != "client.grpcpy.test" {
			t.Errorf("peer identities %q (key %q), want the client certificate's name", s.ids, s.key)
		}
		if fmt.Sprint(s.plugin) != "[python WhoAmI]" {
			t.Errorf("x-plugin from grpcio's metadata plugin = %v", s.plugin)
		}
		if fmt.Sprint(s.token) != "[Bearer py-token]" {
			t.Errorf("authorization from grpcio's access token = %v", s.token)
		}
	default:
		t.Fatal("WhoAmI never reached the Go server")
	}
}

// TestGoClientToGrpcioServerOverMutualTLS: the Go client, with a client
// certificate and a metadata plugin, calls a grpcio server that requires
// client certificates.
func TestGoClientToGrpcioServerOverMutualTLS(t *testing.T) {
	needPython(t)
	leakcheck.Check(t)
	f := writeTLS(t)
	cmd := exec.Command(python, "python/peer.py", "server", "--ca="+f.caPath, "--cert="+f.srvCert, "--key="+f.srvKey)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := readLineWithTimeout(stdout, 30*time.Second)
	if err != nil || !strings.HasPrefix(line, "PORT ") {
		t.Fatalf("grpcio server said %q: %v", line, err)
	}
	target := "127.0.0.1:" + strings.TrimSpace(strings.TrimPrefix(line, "PORT "))

	tlsCreds, err := grpc.SslChannelCredentials(f.ca.CertPEM, f.client.KeyPEM, f.client.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	plugin := grpc.MetadataCallCredentials(grpc.AuthMetadataPluginFunc(
		func(ctx grpc.AuthMetadataContext, cb grpc.AuthMetadataPluginCallback) {
			go cb(grpc.Pairs("x-plugin", "go "+ctx.MethodName), nil)
		}), "go-plugin")
	creds, _ := grpc.CompositeChannelCredentials(tlsCreds, plugin)
	ch, err := grpc.SecureChannel(target, creds, grpc.ChannelOption{Key: "grpc.ssl_target_name_override", Value: "foo.test.google.fr"})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	timeout := grpc.WithTimeout(30 * time.Second)

	resp, err := ch.UnaryUnary("/test.Py/WhoAmI").Call([]byte("x"), timeout,
		grpc.WithCredentials(grpc.AccessTokenCallCredentials("go-token")))
	if err != nil {
		t.Fatalf("WhoAmI on grpcio: %v", err)
	}
	var who struct {
		PeerIdentityKey string   `json:"peer_identity_key"`
		PeerIdentities  []string `json:"peer_identities"`
		XPlugin         string   `json:"x_plugin"`
		Authorization   string   `json:"authorization"`
	}
	if err := json.Unmarshal(resp.([]byte), &who); err != nil {
		t.Fatal(err)
	}
	if len(who.PeerIdentities) == 0 || who.PeerIdentities[0] != "client.grpcpy.test" || who.XPlugin != "go WhoAmI" ||
		who.Authorization != "Bearer go-token" {
		t.Fatalf("grpcio server saw %+v", who)
	}

	if r, err := ch.UnaryUnary("/test.Py/UU").Call([]byte("a"), timeout); err != nil || string(r.([]byte)) != "a" {
		t.Fatalf("UU: %v %v", r, err)
	}
	it, err := ch.UnaryStream("/test.Py/US").Call([]byte("a"), timeout)
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, it); got != "a0,a1,a2" {
		t.Fatalf("US: %s", got)
	}
	r, err := ch.StreamUnary("/test.Py/SU").Call(grpc.Requests[any]([]byte("a"), []byte("b"), []byte("c")), timeout)
	if err != nil || string(r.([]byte)) != "a+b+c" {
		t.Fatalf("SU: %v %v", r, err)
	}
	it, err = ch.StreamStream("/test.Py/SS").Call(grpc.Requests[any]([]byte("a"), []byte("b"), []byte("c")), timeout)
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, it); got != "a,b,c" {
		t.Fatalf("SS: %s", got)
	}
}

func collect(t *testing.T, it grpc.CallIterator) string {
	t.Helper()
	var parts []string
	for r, err := range it.All() {
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(r.([]byte)))
	}
	return strings.Join(parts, ",")
}

func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(lines[len(lines)-1])
}

// runWithTimeout runs cmd, killing it after d.
func runWithTimeout(cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return []byte(out.String()), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return []byte(out.String()), fmt.Errorf("timed out after %v", d)
	}
}

func readLineWithTimeout(r io.Reader, d time.Duration) (string, error) {
	type res struct {
		line string
		err  error
	}
	c := make(chan res, 1)
	go func() {
		l, err := bufio.NewReader(r).ReadString('\n')
		c <- res{l, err}
	}()
	select {
	case x := <-c:
		return x.line, x.err
	case <-time.After(d):
		return "", fmt.Errorf("no line within %v", d)
	}
}
