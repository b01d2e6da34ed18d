// Command greeter_client is grpc's health_checking greeter_client.py in
// Go: one SayHello, then a health check of helloworld.Greeter every
// second for 30 seconds.
//
//	health_stub = health_pb2_grpc.HealthStub(channel)             healthStub := health.NewHealthStub(channel)
//	request = health_pb2.HealthCheckRequest(                      request := &health.HealthCheckRequest{
//	    service="helloworld.Greeter")                                 Service: "helloworld.Greeter"}
//	resp = stub.Check(request)                                    resp, err := stub.Check.Call(request)
//	if resp.status == health_pb2.HealthCheckResponse.SERVING:     if resp.Status == health.HealthCheckResponseServing {
//
// --delay_scale scales the second between checks (the suite runs it at 0.1).
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/health"
)

func unaryCall(stub *pb.GreeterStub, message string) {
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: message}, grpc.WithTimeout(3*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Greeter client received: %s\n", response.GetMessage())
}

func healthCheckCall(stub *health.HealthStub) {
	request := &health.HealthCheckRequest{Service: "helloworld.Greeter"}
	resp, err := stub.Check.Call(request)
	if err != nil {
		log.Fatal(err)
	}
	switch resp.Status {
	case health.HealthCheckResponseServing:
		fmt.Println("server is serving")
	case health.HealthCheckResponseNotServing:
		fmt.Println("server stopped serving")
	}
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	delayScale := flag.Float64("delay_scale", 1, "scale of the second between health checks")
	flag.Parse()

	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	healthStub := health.NewHealthStub(channel)
	// Should succeed
	unaryCall(stub, "you")

	// Check health status every 1 second for 30 seconds
	for range 30 {
		healthCheckCall(healthStub)
		time.Sleep(time.Duration(*delayScale * float64(time.Second)))
	}
}
