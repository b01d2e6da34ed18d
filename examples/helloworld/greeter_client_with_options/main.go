// Command greeter_client_with_options is helloworld's
// greeter_client_with_options.py in Go: channel options and a timeout.
//
//	options = [('grpc.lb_policy_name', 'pick_first'),
//	           ('grpc.enable_retries', 0),
//	           ('grpc.keepalive_timeout_ms', 10000)]
//	with grpc.insecure_channel(target, options=options) as channel:
//	    stub = helloworld_pb2_grpc.GreeterStub(channel)
//	    response = stub.SayHello(helloworld_pb2.HelloRequest(name='you'), timeout=10)
//	print("Greeter client received: " + response.message)
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()

	channel, err := grpc.InsecureChannel(*target,
		grpc.Option("grpc.lb_policy_name", "pick_first"),
		grpc.Option("grpc.enable_retries", 0),
		grpc.Option("grpc.keepalive_timeout_ms", 10000))
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatalf("SayHello failed: %v", err)
	}
	fmt.Println("Greeter client received: " + response.GetMessage())
}
