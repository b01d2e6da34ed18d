package health_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/health"
)

// run runs a foreign tool under rpcTimeout and returns its combined output
// and exit code (-1 if it could not run or was killed).
func run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool(t, name), args...).CombinedOutput()
	exit := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() < 0 {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		exit = ee.ExitCode()
	}
	t.Logf("$ %s %s\n%s(exit %d)", name, strings.Join(args, " "), out, exit)
	return string(out), exit
}

// TestGrpcHealthProbe: grpc-ecosystem's grpc-health-probe (a grpc-go
// client), the probe Kubernetes users run, against a grpcpy server: exit
// 0 "status: SERVING", 4 for NOT_SERVING, 3 for an unknown service (the
// RPC fails with NOT_FOUND), 3 "does not implement" on a server without
// the health service.
func TestGrpcHealthProbe(t *testing.T) {
	servicer := health.NewHealthServicer()
	servicer.Set("helloworld.Greeter", health.HealthCheckResponseServing)
	servicer.Set("routeguide.RouteGuide", health.HealthCheckResponseNotServing)
	s := serve(t, servicer, 4)
	probe := func(target string, args ...string) (string, int) {
		t.Helper()
		return run(t, "grpc-health-probe", append([]string{"-addr=" + target, "-connect-timeout=10s", "-rpc-timeout=10s"}, args...)...)
	}
	for _, c := range []struct {
		args []string
		exit int
		out  string
	}{
		{nil, 0, "status: SERVING\n"},
		{[]string{"-service=helloworld.Greeter"}, 0, "status: SERVING\n"},
		{[]string{"-service=routeguide.RouteGuide"}, 4, "service unhealthy (responded with \"NOT_SERVING\")\n"},
		{[]string{"-service=unknown.Service"}, 3, "error: health rpc failed: rpc error: code = NotFound desc = \n"},
	} {
		if out, exit := probe(s.target, c.args...); exit != c.exit || out != c.out {
			t.Errorf("grpc-health-probe %v: exit %d %q; want %d %q", c.args, exit, out, c.exit, c.out)
		}
	}

	servicer.EnterGracefulShutdown()
	if out, exit := probe(s.target, "-service=helloworld.Greeter"); exit != 4 || !strings.Contains(out, `"NOT_SERVING"`) {
		t.Errorf("after EnterGracefulShutdown: exit %d %q", exit, out)
	}

	// A server without the health service: what users saw before.
	bare := serveBare(t)
	if out, exit := probe(bare); exit != 3 || out != "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): Method not found!\n" {
		t.Errorf("server without health: exit %d %q", exit, out)
	}
}

// serveBare starts a grpcpy server with no service at all.
func serveBare(t *testing.T) string {
	t.Helper()
	s, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(grpc.NoGrace) })
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// protoset is the descriptor set of gRPC's service protos (with their
// imports) that internal/grpcprotos embeds: grpcurl reads health.proto
// from it, as grpcpy's server answers without reflection.
func protoset() string { return filepath.Join(root(), "internal", "grpcprotos", "grpc_protos.binpb") }

// TestGrpcurl: fullstorydev's grpcurl (grpc-go and jhump/protoreflect's
// dynamic messages) calls Check, and Watch until the server stops.
func TestGrpcurl(t *testing.T) {
	servicer := health.NewHealthServicer()
	servicer.Set("helloworld.Greeter", health.HealthCheckResponseNotServing)
	s := serve(t, servicer, 4)
	set := protoset()
	grpcurl := func(args ...string) (string, int) {
		t.Helper()
		return run(t, "grpcurl", append([]string{"-plaintext", "-connect-timeout=10", "-protoset", set}, args...)...)
	}
	for _, c := range []struct {
		service string
		exit    int
		out     string
	}{
		{"", 0, "{\n  \"status\": \"SERVING\"\n}\n"},
		{"helloworld.Greeter", 0, "{\n  \"status\": \"NOT_SERVING\"\n}\n"},
		{"unknown.Service", 64 + 5, "ERROR:\n  Code: NotFound\n  Message: \n"},
	} {
		out, exit := grpcurl("-d", `{"service":"`+c.service+`"}`, s.target, "grpc.health.v1.Health/Check")
		if exit != c.exit || out != c.out {
			t.Errorf("Check(%q): exit %d %q; want %d %q", c.service, exit, out, c.exit, c.out)
		}
	}

	// Watch: grpcurl prints each response as it comes.
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, "grpcurl"), "-plaintext", "-connect-timeout=10", "-protoset", set,
		"-d", `{"service":"routeguide.RouteGuide"}`, s.target, "grpc.health.v1.Health/Watch")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }() // on a failure below
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(rpcTimeout)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("grpcurl Watch printed %q, no %q", out.String(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("SERVICE_UNKNOWN")
	servicer.Set("routeguide.RouteGuide", health.HealthCheckResponseServing)
	waitFor(`"SERVING"`)
	servicer.Set("routeguide.RouteGuide", health.HealthCheckResponseNotServing)
	waitFor("NOT_SERVING")
	s.Stop(0)
	<-exited
	var ee *exec.ExitError
	exit := -1
	if errors.As(waitErr, &ee) {
		exit = ee.ExitCode()
	}
	t.Logf("$ grpcurl ... grpc.health.v1.Health/Watch (server stopped after the third message)\n%s(exit %d)", out.String(), exit)
	want := "{\n  \"status\": \"SERVICE_UNKNOWN\"\n}\n{\n  \"status\": \"SERVING\"\n}\n{\n  \"status\": \"NOT_SERVING\"\n}\n"
	if !strings.HasPrefix(out.String(), want) || (exit != 64+1 && exit != 64+14) {
		t.Errorf("grpcurl Watch: exit %d, printed %q; want %q then CANCELLED or UNAVAILABLE", exit, out.String(), want)
	}
}

// syncBuffer is a bytes.Buffer safe for exec's copier and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
