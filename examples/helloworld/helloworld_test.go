package helloworld_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type greeter struct{}

func (greeter) SayHello(r *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + r.GetName() + "!"}, nil
}

// start serves servicer on 127.0.0.1 (kernel-chosen port) and returns a stub.
func start(t testing.TB, servicer pb.GreeterServicer) *pb.GreeterStub {
	server, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(servicer, server); err != nil {
		t.Fatal(err)
	}
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	channel, err := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		channel.Close()
		server.Stop(grpc.NoGrace)
	})
	return pb.NewGreeterStub(channel)
}

func TestGreeter(t *testing.T) {
	leakcheck.Check(t)
	stub := start(t, greeter{})
	resp, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetMessage(); got != "Hello, you!" {
		t.Fatalf("reply %q", got)
	}
}

func TestUnimplementedServicer(t *testing.T) {
	leakcheck.Check(t)
	stub := start(t, pb.UnimplementedGreeterServicer{})
	_, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(10*time.Second))
	var rerr *grpc.RpcError
	if !errors.As(err, &rerr) || rerr.Code() != grpc.StatusCodeUnimplemented || rerr.Details() != "Method not implemented!" {
		t.Fatalf("err = %v", err)
	}
}

// The greeter of grpc's quick start, client and server in one program.
func Example() {
	server, _ := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
	pb.AddGreeterServicerToServer(greeter{}, server)
	port, _ := server.AddInsecurePort("127.0.0.1:0")
	server.Start()
	defer server.Stop(grpc.NoGrace)

	channel, _ := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Greeter client received: " + response.GetMessage())
	// Output: Greeter client received: Hello, you!
}
