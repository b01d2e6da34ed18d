// Command grpcpygenerated is the alternative grpcpy's health package did
// not take: health checking on grpc-go's canonical generated messages
// (google.golang.org/grpc/health/grpc_health_v1), served and called with
// grpcpy's typed handlers and multi-callables. Linking that package links
// grpc-go (its _grpc.pb.go half imports google.golang.org/grpc).
package main

import (
	"fmt"
	"log"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// greeter is the program's own service: every real program links
// generated messages (and so protobuf-go's message runtime).
type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + request.GetName() + "!"}, nil
}

func check(request *healthpb.HealthCheckRequest, context *grpc.ServicerContext) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func main() {
	server, err := grpc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler("grpc.health.v1.Health",
		map[string]*grpc.RpcMethodHandler{"Check": grpc.TypedUnaryUnaryRpcMethodHandler(check)})); err != nil {
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
	stub := grpc.NewUnaryUnary[*healthpb.HealthCheckRequest, *healthpb.HealthCheckResponse](channel, "/grpc.health.v1.Health/Check")
	resp, err := stub.Call(&healthpb.HealthCheckRequest{}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetStatus())
}
