// Command greeter_client is grpc's helloworld greeter_client.py in Go:
//
//	with grpc.insecure_channel('localhost:50051') as channel:
//	    stub = helloworld_pb2_grpc.GreeterStub(channel)
//	    response = stub.SayHello(helloworld_pb2.HelloRequest(name='you'))
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
	name := flag.String("name", "you", "name to greet")
	flag.Parse()

	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: *name}, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatalf("SayHello failed: %v", err)
	}
	fmt.Println("Greeter client received: " + response.GetMessage())
}
