// Command greeter_client is grpc's examples/python/interceptors/headers/
// greeter_client.py (with generic_client_interceptor.py and
// header_manipulator_client_interceptor.py, here the .go files of the same
// names) in Go: a greeting through a channel whose client interceptor adds
// "one-time-password: 42" to every RPC, the header the headers
// greeter_server demands.
//
// Python:
//
//	header_adder_interceptor = header_manipulator_client_interceptor.header_adder_interceptor(
//	    "one-time-password", "42")
//	with grpc.insecure_channel("localhost:50051") as channel:
//	    intercept_channel = grpc.intercept_channel(channel, header_adder_interceptor)
//	    stub = helloworld_pb2_grpc.GreeterStub(intercept_channel)
//	    response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
//	print("Greeter client received: " + response.message)
//
// Go:
//
//	headerAdder := headerAdderInterceptor("one-time-password", "42")
//	channel, err := grpc.InsecureChannel(*target)
//	defer channel.Close()
//	interceptChannel, err := grpc.InterceptChannel(channel, headerAdder)
//	stub := pb.NewGreeterStub(interceptChannel)
//	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"})
//	fmt.Println("Greeter client received: " + response.GetMessage())
//
// Flag: --target (default localhost:50051, the original's).
package main

import (
	"flag"
	"fmt"
	"log"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

func run(target string) {
	headerAdder := headerAdderInterceptor("one-time-password", "42")
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close() // the with statement
	interceptChannel, err := grpc.InterceptChannel(channel, headerAdder)
	if err != nil {
		log.Fatal(err)
	}
	stub := pb.NewGreeterStub(interceptChannel)
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Greeter client received: " + response.GetMessage())
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()
	run(*target)
}
