// Package reflection cross-tests grpcpy's server reflection
// (github.com/grpcpy/grpcpy/grpc/reflection) with grpc-go v1.85.0 in the
// same process: grpc-go's own reflection clients (the generated v1 and
// v1alpha stubs) ask a grpcpy server, and grpc-go's reflection service
// runs beside grpcpy's. This binary, like cmd/both, links grpc-go's
// generated reflection and health packages, which register
// grpc.reflection.* and grpc.health.v1 in protobuf-go's global registry:
// that it starts at all is the first check.
package reflection

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	grpcgo "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	goreflection "google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/reflection"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const timeout = 30 * time.Second

type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + request.GetName() + "!"}, nil
}

// grpcpyServer serves Greeter with grpcpy reflection; it returns the target.
func grpcpyServer(t *testing.T) string {
	t.Helper()
	server, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Stop(grpc.NoGrace).Wait() })
	if err := pb.AddGreeterServicerToServer(greeter{}, server); err != nil {
		t.Fatal(err)
	}
	names := []string{pb.GreeterServiceName, reflection.ServiceName, reflection.ServiceNameV1}
	if err := reflection.EnableServerReflection(names, server); err != nil {
		t.Fatal(err)
	}
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// grpcgoServer serves grpc-go's health service with grpc-go's reflection.
func grpcgoServer(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpcgo.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	goreflection.Register(s)
	done := make(chan struct{})
	go func() { s.Serve(lis); close(done) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return lis.Addr().String()
}

func dial(t *testing.T, target string) *grpcgo.ClientConn {
	t.Helper()
	conn, err := grpcgo.NewClient(target, grpcgo.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// info is one ServerReflectionInfo stream of grpc-go's v1 client.
type info struct {
	t      *testing.T
	stream grpcgo.BidiStreamingClient[rpb.ServerReflectionRequest, rpb.ServerReflectionResponse]
}

func openV1(t *testing.T, target string) *info {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	stream, err := rpb.NewServerReflectionClient(dial(t, target)).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := &info{t: t, stream: stream}
	t.Cleanup(func() {
		stream.CloseSend()
		if _, err := stream.Recv(); err != io.EOF {
			t.Errorf("end of the stream: %v", err)
		}
	})
	return i
}

func (i *info) ask(req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
	i.t.Helper()
	if err := i.stream.Send(req); err != nil {
		i.t.Fatal(err)
	}
	resp, err := i.stream.Recv()
	if err != nil {
		i.t.Fatal(err)
	}
	return resp
}

func services(resp interface {
	GetListServicesResponse() *rpb.ListServiceResponse
}) []string {
	var out []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		out = append(out, s.GetName())
	}
	return out
}

func fileNames(t *testing.T, protos [][]byte) []string {
	t.Helper()
	var out []string
	for _, b := range protos {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fdp); err != nil {
			t.Fatal(err)
		}
		out = append(out, fdp.GetName())
	}
	return out
}

// TestLinkedBoth: grpc-go's generated reflection and health packages hold
// the global names; grpcpy serves the same services beside them.
func TestLinkedBoth(t *testing.T) {
	for _, name := range []string{"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "grpc.health.v1.Health"} {
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name)); err != nil {
			t.Fatalf("%s is not registered globally, so this binary does not test a conflict: %v", name, err)
		}
	}
}

// TestGrpcGoClientV1: grpc-go's generated v1 client reads a grpcpy server.
func TestGrpcGoClientV1(t *testing.T) {
	s := openV1(t, grpcpyServer(t))
	resp := s.ask(&rpb.ServerReflectionRequest{Host: "h", MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	want := []string{"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "helloworld.Greeter"}
	if got := services(resp); !slices.Equal(got, want) {
		t.Fatalf("services %q, want %q", got, want)
	}
	if resp.GetValidHost() != "h" || resp.GetOriginalRequest().GetHost() != "h" {
		t.Fatalf("valid_host %q, original_request %v", resp.GetValidHost(), resp.GetOriginalRequest())
	}
	resp = s.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "helloworld.Greeter"}})
	if got := fileNames(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto()); !slices.Equal(got, []string{"helloworld.proto"}) {
		t.Fatalf("files %q", got)
	}
	// grpc.health.v1 comes from the global registry now (grpc-go's copy).
	resp = s.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "grpc.health.v1.Health"}})
	if got := fileNames(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto()); !slices.Equal(got, []string{"grpc/health/v1/health.proto"}) {
		t.Fatalf("files %q", got)
	}
	resp = s.ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "no.Such"}})
	if e := resp.GetErrorResponse(); e.GetErrorCode() != 5 {
		t.Fatalf("unknown symbol: %v", resp)
	}
}

// TestGrpcGoClientV1alpha: grpc-go's generated v1alpha client, grpcio's
// protocol version.
func TestGrpcGoClientV1alpha(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stream, err := rpbalpha.NewServerReflectionClient(dial(t, grpcpyServer(t))).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *rpbalpha.ServerReflectionRequest) *rpbalpha.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := ask(&rpbalpha.ServerReflectionRequest{MessageRequest: &rpbalpha.ServerReflectionRequest_FileByFilename{FileByFilename: "grpc/reflection/v1alpha/reflection.proto"}})
	if got := fileNames(t, resp.GetFileDescriptorResponse().GetFileDescriptorProto()); !slices.Equal(got, []string{"grpc/reflection/v1alpha/reflection.proto"}) {
		t.Fatalf("files %q", got)
	}
	resp = ask(&rpbalpha.ServerReflectionRequest{MessageRequest: &rpbalpha.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "helloworld.HelloRequest"}})
	if r := resp.GetAllExtensionNumbersResponse(); r.GetBaseTypeName() != "helloworld.HelloRequest" || len(r.GetExtensionNumber()) != 0 {
		t.Fatalf("extensions: %v", resp)
	}
	stream.CloseSend()
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("end of the stream: %v", err)
	}
}

// TestBothServe: grpc-go's reflection and grpcpy's serve side by side in
// one process, each listing its own server's services.
func TestBothServe(t *testing.T) {
	goSide := openV1(t, grpcgoServer(t)).ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	want := []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
	if got := services(goSide); !slices.Equal(got, want) {
		t.Fatalf("grpc-go side: services %q, want %q", got, want)
	}
	pySide := openV1(t, grpcpyServer(t)).ask(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	if got := services(pySide); !slices.Contains(got, "helloworld.Greeter") {
		t.Fatalf("grpcpy side: services %q", got)
	}
}

// TestBinary builds cmd/both, runs it, and lists both of its servers with
// grpcurl; it logs the binary's size.
func TestBinary(t *testing.T) {
	grpcurl := filepath.Join(tools(), "grpcurl")
	if _, err := os.Stat(grpcurl); err != nil {
		t.Fatalf("grpcurl is missing (%v): run scripts/foreign-tools.sh, which installs it into bin/tools", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "both")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/both").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/both: %v\n%s", err, out)
	}
	if fi, err := os.Stat(bin); err == nil {
		t.Logf("cmd/both (grpcpy + grpcpy reflection + grpc-go + grpc-go reflection and health): %d bytes", fi.Size())
	}
	portFile := filepath.Join(dir, "ports")
	cmd := exec.CommandContext(ctx, bin, "--port_file="+portFile)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	var ports []string
	for deadline := time.Now().Add(timeout); len(ports) < 2; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(portFile)
		ports = strings.Fields(string(b))
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("cmd/both exited (%v) before serving:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cmd/both did not serve within %v", timeout)
		}
	}
	for i, want := range []string{
		"grpc.reflection.v1alpha.ServerReflection\nhelloworld.Greeter\n",
		"grpc.health.v1.Health\ngrpc.reflection.v1.ServerReflection\ngrpc.reflection.v1alpha.ServerReflection\n",
	} {
		got, err := exec.CommandContext(ctx, grpcurl, "-plaintext", "127.0.0.1:"+ports[i], "list").CombinedOutput()
		t.Logf("grpcurl -plaintext 127.0.0.1:%s list:\n%s", ports[i], got)
		if err != nil || string(got) != want {
			t.Errorf("grpcurl list of server %d: %v %q, want %q", i, err, got, want)
		}
	}
	got, err := exec.CommandContext(ctx, grpcurl, "-plaintext", "-d", `{"name":"you"}`, "127.0.0.1:"+ports[0], "helloworld.Greeter/SayHello").CombinedOutput()
	t.Logf("grpcurl SayHello:\n%s", got)
	if err != nil || !strings.Contains(string(got), `"message": "Hello, you!"`) {
		t.Errorf("grpcurl SayHello: %v %s", err, got)
	}
}

// tools is where scripts/foreign-tools.sh installs grpcurl: $GRPCPY_TOOLS
// or bin/tools of the repository (three levels up).
func tools() string {
	if d := os.Getenv("GRPCPY_TOOLS"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", "..", "bin", "tools")
}
