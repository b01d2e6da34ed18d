// Command greeter_client is grpc's examples/python/interceptors/
// default_value/greeter_client.py (with default_value_client_interceptor.py,
// here default_value_client_interceptor.go) in Go: a greeting through a
// channel whose client interceptor answers "Hello from your local
// interceptor!" when the RPC fails (no server, or one that refuses it).
// It talks to any helloworld greeter server.
//
// Python:
//
//	default_value = helloworld_pb2.HelloReply(message="Hello from your local interceptor!")
//	default_value_interceptor = default_value_client_interceptor.DefaultValueClientInterceptor(default_value)
//	channel = grpc.insecure_channel("localhost:50051")
//	channel = grpc.intercept_channel(channel, default_value_interceptor)
//	stub = helloworld_pb2_grpc.GreeterStub(channel)
//	response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
//	print("Greeter client received: " + response.message)
//
//	def _intercept_call(self, continuation, client_call_details, request_or_iterator):
//	    response = continuation(client_call_details, request_or_iterator)
//	    return self._default if response.exception() else response
//
// Go:
//
//	defaultValue := &pb.HelloReply{Message: "Hello from your local interceptor!"}
//	defaultValueInterceptor := newDefaultValueClientInterceptor(defaultValue)
//	channel, err := grpc.InsecureChannel(*target)
//	interceptChannel, err := grpc.InterceptChannel(channel, defaultValueInterceptor)
//	stub := pb.NewGreeterStub(interceptChannel)
//	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"})
//	fmt.Println("Greeter client received: " + response.GetMessage())
//
//	func (i *defaultValueClientInterceptor) interceptCall(response grpc.CallFuture, err error) (grpc.CallFuture, error) {
//	    ...
//	    if exception, _ := response.Exception(); exception != nil {
//	        return i.defaultValue, nil
//	    }
//	    return response, nil
//	}
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
	defaultValue := &pb.HelloReply{Message: "Hello from your local interceptor!"}
	defaultValueInterceptor := newDefaultValueClientInterceptor(defaultValue)
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	interceptChannel, err := grpc.InterceptChannel(channel, defaultValueInterceptor)
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
