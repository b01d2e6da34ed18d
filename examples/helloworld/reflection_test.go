package helloworld_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/grpcpy/grpcpy/examples/internal/exampletest"
	"github.com/grpcpy/grpcpy/internal/grpcprotos"
)

// grpcurl runs the grpcurl that scripts/foreign-tools.sh installs
// ($GRPCPY_TOOLS or bin/tools) with args, under exampletest.Timeout.
func grpcurl(t *testing.T, args ...string) string {
	t.Helper()
	dir := os.Getenv("GRPCPY_TOOLS")
	if dir == "" {
		dir = filepath.Join(exampletest.Root(), "bin", "tools")
	}
	bin := filepath.Join(dir, "grpcurl")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("grpcurl is missing (%v): run scripts/foreign-tools.sh, which installs it into bin/tools", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), exampletest.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("grpcurl %v: %v\n%s", args, err, out)
	}
	t.Logf("grpcurl %v:\n%s", args, out)
	return string(out)
}

// TestReflectionGrpcurl: grpcurl lists, describes and calls the
// greeter_server_with_reflection example knowing nothing but what
// reflection tells it (no helloworld.proto).
func TestReflectionGrpcurl(t *testing.T) {
	s := exampletest.GoServer(t, "./examples/helloworld/greeter_server_with_reflection")

	out := grpcurl(t, "-plaintext", s.Target, "list")
	if want := "grpc.reflection.v1alpha.ServerReflection\nhelloworld.Greeter\n"; out != want {
		t.Errorf("grpcurl list: %q, want %q", out, want)
	}
	exampletest.Contains(t, "grpcurl describe helloworld.Greeter", grpcurl(t, "-plaintext", s.Target, "describe", "helloworld.Greeter"),
		"helloworld.Greeter is a service:",
		"rpc SayHello ( .helloworld.HelloRequest ) returns ( .helloworld.HelloReply );")
	exampletest.Contains(t, "grpcurl describe helloworld.HelloRequest", grpcurl(t, "-plaintext", s.Target, "describe", "helloworld.HelloRequest"),
		"helloworld.HelloRequest is a message:", "string name = 1;")
	exampletest.Contains(t, "grpcurl helloworld.Greeter/SayHello",
		grpcurl(t, "-plaintext", "-d", `{"name":"you"}`, s.Target, "helloworld.Greeter/SayHello"),
		`"message": "Hello, you!"`)

	// Reflection changes nothing for a client with stubs.
	exampletest.Contains(t, "go client → reflection server",
		exampletest.GoClient(t, "./examples/helloworld/greeter_client", s.Target), "Greeter client received: Hello, you!")
}

// reflectionStubs generates reflection_pb2.py from the descriptor of
// grpc/reflection/v1alpha/reflection.proto that grpcpy embeds (Debian's
// grpc-proto need not be installed) and returns the directory to put on
// PYTHONPATH.
func reflectionStubs(t *testing.T) string {
	t.Helper()
	const file = "grpc/reflection/v1alpha/reflection.proto"
	fd, err := grpcprotos.Files.FindFileByPath(file)
	if err != nil {
		t.Fatal(err)
	}
	set, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(fd)}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	setFile := filepath.Join(dir, "reflection.binpb")
	if err := os.WriteFile(setFile, set, 0o644); err != nil {
		t.Fatal(err)
	}
	// grpc_tools.protoc's __main__ adds an -I, which --descriptor_set_in
	// excludes: call its main without it.
	out, err := exec.Command(exampletest.Python, "-c", "import sys; from grpc_tools import protoc; sys.exit(protoc.main(sys.argv))",
		"--descriptor_set_in="+setFile, "--python_out="+dir, file).CombinedOutput()
	if err != nil {
		t.Fatalf("grpc_tools.protoc %s: %v\n%s", file, err, out)
	}
	// Imported as a top-level module: a grpc/ package directory would
	// clash with grpcio's own grpc package.
	return filepath.Join(dir, filepath.Dir(file))
}

// TestReflectionPythonClient: grpcio 1.51 reads the Go server's
// services and descriptors through reflection (v1alpha, grpcio's) into a
// DescriptorPool of its own, then calls SayHello with classes built from
// them.
func TestReflectionPythonClient(t *testing.T) {
	s := exampletest.GoServer(t, "./examples/helloworld/greeter_server_with_reflection")
	out := exampletest.PythonClient(t, "examples/helloworld/greeter_server_with_reflection/python/greeter_client_reflection.py",
		[]string{reflectionStubs(t)}, s.Target)
	t.Logf("greeter_client_reflection.py:\n%s", out)
	exampletest.Contains(t, "python reflection client → go", out,
		"Will try to greet world ...",
		"found services: ('grpc.reflection.v1alpha.ServerReflection', 'helloworld.Greeter')",
		"found Greeter service with name: helloworld.Greeter",
		"found method name: helloworld.Greeter.SayHello",
		"input type for this method: helloworld.HelloRequest",
		"found request name: helloworld.HelloRequest",
		"Greeter client received: Hello, you!")
}
