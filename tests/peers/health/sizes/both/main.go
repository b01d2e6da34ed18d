// Command both is one program with grpcpy's health checking and grpc-go's
// (the generated grpc_health_v1 and the google.golang.org/grpc/health
// server): each library's client checks the other library's server.
// Both register nothing twice: grpcpy keeps grpc.health.v1 in a private
// registry, so this program starts where two global registrations of the
// same names would make protobuf-go panic.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	grpcgo "google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	gohealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

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
	// grpcpy's server, grpc-go's client.
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
	conn, err := grpcgo.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpcgo.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	var reply pb.HelloReply
	if err := conn.Invoke(ctx, "/helloworld.Greeter/SayHello", &pb.HelloRequest{Name: "grpc-go"}, &reply); err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.GetMessage())

	// grpc-go's server, grpcpy's client.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	goServer := grpcgo.NewServer()
	defer goServer.Stop()
	healthpb.RegisterHealthServer(goServer, gohealth.NewServer())
	go goServer.Serve(lis)
	channel, err := grpc.InsecureChannel(lis.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	back, err := health.NewHealthStub(channel).Check.Call(&health.HealthCheckRequest{}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetStatus(), back.Status)
}
