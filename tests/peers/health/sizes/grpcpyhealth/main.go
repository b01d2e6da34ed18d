// Command grpcpyhealth is grpcpy with its health checking
// (github.com/grpcpy/grpcpy/grpc/health): a server with a HealthServicer
// and a HealthStub checking it.
package main

import (
	"fmt"
	"log"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/health"
)

// greeter is the program's own service: every real program links
// generated messages (and so protobuf-go's message runtime).
type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + request.GetName() + "!"}, nil
}

func main() {
	server, err := grpc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := health.AddHealthServicerToServer(health.NewHealthServicer(), server); err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(greeter{}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	defer server.Stop(grpc.NoGrace)
	channel, err := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	reply, err := pb.NewGreeterStub(channel).SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.GetMessage())
	resp, err := health.NewHealthStub(channel).Check.Call(&health.HealthCheckRequest{}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
}
