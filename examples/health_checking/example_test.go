package health_checking_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
)

const (
	serverPkg    = "./examples/health_checking/greeter_server"
	clientPkg    = "./examples/health_checking/greeter_client"
	serverScript = "examples/health_checking/python/greeter_server.py"
	clientScript = "examples/health_checking/python/greeter_client.py"
)

// The servers toggle every 0.5 s and the clients check every 0.1 s
// (the original's 5 s and 1 s): a client's 30 checks see both statuses.
const (
	goScale = "--delay_scale=0.1"
	pyScale = "EXAMPLE_DELAY_SCALE=0.1"
)

// TestHealthChecking runs the example's clients against its servers, Go
// against Go and across languages: each client is greeted ("Greeter
// client received: you", the name alone as the original's server
// answers), then prints 30 health checks of helloworld.Greeter, which
// the server toggles: both "server is serving" and "server stopped
// serving" appear, and nothing else.
func TestHealthChecking(t *testing.T) {
	py := []string{exampletest.PythonStubs(t, "examples/helloworld/helloworld/helloworld.proto"), pythonHealth(t)}
	goServer := exampletest.GoServer(t, serverPkg, goScale)
	pyServer := exampletest.PythonServer(t, serverScript, py, pyScale)
	for _, c := range []struct {
		name string
		run  func() string
	}{
		{"go client → go server", func() string { return exampletest.GoClient(t, clientPkg, goServer.Target, goScale) }},
		{"python client → go server", func() string { return exampletest.PythonClient(t, clientScript, py, goServer.Target, pyScale) }},
		{"go client → python server", func() string { return exampletest.GoClient(t, clientPkg, pyServer.Target, goScale) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines := exampletest.Lines(c.run())
			if len(lines) != 31 || lines[0] != "Greeter client received: you" {
				t.Fatalf("want a greeting and 30 checks, got %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			count := map[string]int{}
			for _, l := range lines[1:] {
				count[l]++
			}
			if len(count) != 2 || count["server is serving"] == 0 || count["server stopped serving"] == 0 {
				t.Errorf("checks: %v", count)
			}
			t.Logf("checks: %v", count)
		})
	}
	exampletest.Contains(t, "go server", goServer.Output(), "Server started, listening on "+goServer.Port)
	exampletest.Contains(t, "python server", pyServer.Output(), "Server started, listening on "+pyServer.Port)

	// What a Kubernetes gRPC probe (grpc-health-probe) reads from the Go
	// server: the whole server SERVING, helloworld.Greeter one or the other.
	probe := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
		defer cancel()
		args = append([]string{"-addr=" + goServer.Target, "-connect-timeout=10s", "-rpc-timeout=10s"}, args...)
		out, err := exec.CommandContext(ctx, tool(t, "grpc-health-probe"), args...).CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee) && ee.ExitCode() > 0:
			return string(out), ee.ExitCode()
		}
		t.Fatalf("grpc-health-probe %v: %v\n%s", args, err, out)
		return "", -1
	}
	if out, exit := probe(); exit != 0 || out != "status: SERVING\n" {
		t.Errorf("grpc-health-probe: exit %d %q", exit, out)
	}
	out, exit := probe("-service=helloworld.Greeter")
	if !(exit == 0 && out == "status: SERVING\n") && !(exit == 4 && out == "service unhealthy (responded with \"NOT_SERVING\")\n") {
		t.Errorf("grpc-health-probe -service=helloworld.Greeter: exit %d %q", exit, out)
	}
	t.Logf("grpc-health-probe -service=helloworld.Greeter: %q (exit %d)", out, exit)
}

// pythonHealth returns a PYTHONPATH entry with the grpc_health.v1 package
// the Python files import. Debian's python3-grpcio does not have it (it
// is PyPI's grpcio-health-checking): the modules health_pb2 and
// health_pb2_grpc are generated with grpc_tools from health.proto's
// descriptor (internal/grpcprotos, under grpcio's file name
// grpc_health/v1/health.proto) and python/health_standin.py is installed
// as grpc_health/v1/health.py. Where the real package is importable it is
// used instead.
func pythonHealth(t *testing.T) string {
	t.Helper()
	if exec.Command(exampletest.Python, "-c", "import grpc_health.v1.health").Run() == nil {
		t.Log("using the installed grpc_health package")
		return ""
	}
	fd, err := grpcprotos.Files.FindFileByPath("grpc/health/v1/health.proto")
	if err != nil {
		t.Fatal(err)
	}
	fdp := protodesc.ToFileDescriptorProto(fd)
	fdp.Name = proto.String("grpc_health/v1/health.proto")
	set, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{fdp}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	setFile := filepath.Join(t.TempDir(), "health.protoset")
	must(t, os.WriteFile(setFile, set, 0o644))
	// grpc_tools.protoc's main (not `-m grpc_tools.protoc`, which adds an
	// -I that --descriptor_set_in refuses).
	script := "import sys\nfrom grpc_tools import protoc\nsys.exit(protoc.main(sys.argv))"
	cmd := exec.Command(exampletest.Python, "-c", script, "--descriptor_set_in="+setFile,
		"--python_out="+dir, "--grpc_python_out="+dir, "grpc_health/v1/health.proto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("grpc_tools.protoc grpc_health/v1/health.proto: %v\n%s", err, out)
	}
	standin, err := os.ReadFile(filepath.Join(exampletest.Root(), "examples/health_checking/python/health_standin.py"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "grpc_health", "__init__.py"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "grpc_health", "v1", "__init__.py"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "grpc_health", "v1", "health.py"), standin, 0o644))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tool is the path of a foreign command-line tool installed by
// scripts/foreign-tools.sh ($GRPCPY_TOOLS or bin/tools).
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("GRPCPY_TOOLS")
	if dir == "" {
		dir = filepath.Join(exampletest.Root(), "bin", "tools")
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (%v): run scripts/foreign-tools.sh, which installs it into bin/tools", name, err)
	}
	return path
}
