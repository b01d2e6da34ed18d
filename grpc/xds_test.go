package grpc_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/grpcpy/grpcpy/grpc"
)

// TestXdsCredentialsFallBack: xDS credentials on a target that is not
// xds:/// use their fallback (the core's behaviour, as in grpcio), both
// sides: an xDS-credentialed client reaches a server on a port opened with
// XdsServerCredentials(InsecureServerCredentials()).
func TestXdsCredentialsFallBack(t *testing.T) {
	s, err := grpc.NewServer(nil, grpc.WithHandlers(service("test.X", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()})...))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := grpc.XdsServerCredentials(grpc.InsecureServerCredentials())
	if err != nil {
		t.Fatal(err)
	}
	port, err := s.AddSecurePort("127.0.0.1:0", sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(0).Wait(testTimeout) })
	ch, err := grpc.SecureChannel(fmt.Sprintf("127.0.0.1:%d", port), grpc.XdsChannelCredentials(grpc.InsecureChannelCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if r, err := ch.UnaryUnary("/test.X/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil || string(r.([]byte)) != "x" {
		t.Fatalf("through xDS credentials' fallback: %q, %v", r, err)
	}
	var ve *grpc.ValueError
	if _, err := grpc.XdsServerCredentials(nil); !errors.As(err, &ve) {
		t.Fatalf("XdsServerCredentials(nil): %v", err)
	}
}

// TestXdsServerNeedsBootstrap: grpc.server(xds=True) without a bootstrap
// is a clear error, not a crash or a server that never serves.
func TestXdsServerNeedsBootstrap(t *testing.T) {
	if os.Getenv("GRPC_XDS_BOOTSTRAP") != "" || os.Getenv("GRPC_XDS_BOOTSTRAP_CONFIG") != "" {
		t.Skip("an xDS bootstrap is configured in this environment")
	}
	_, err := grpc.NewServer(nil, grpc.WithXds(true))
	var ve *grpc.ValueError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "GRPC_XDS_BOOTSTRAP") {
		t.Fatalf("NewServer(xds=True) without a bootstrap: %v", err)
	}
}
