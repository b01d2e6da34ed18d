// Command send_message is grpc's examples/python/debug/send_message.py in
// Go: n greetings to the debug server, printing each reply or error.
//
// Python:
//
//	def process(stub, request):
//	    try:
//	        response = stub.SayHello(request)
//	    except grpc.RpcError as rpc_error:
//	        print("Received error: %s" % rpc_error)
//	    else:
//	        print("Received message: %s" % response)
//
//	with grpc.insecure_channel(addr) as channel:
//	    stub = helloworld_pb2_grpc.GreeterStub(channel)
//	    request = helloworld_pb2.HelloRequest(name="you")
//	    for _ in range(n):
//	        process(stub, request)
//
// Go:
//
//	response, err := stub.SayHello.Call(request)
//	var rpcError *grpc.RpcError
//	if errors.As(err, &rpcError) {
//	    fmt.Printf("Received error: %s\n", rpcError)
//	} else if err == nil {
//	    fmt.Printf("Received message: %s\n", prototext.Format(response))
//	}
//
// Flags: --target (default [::]:50051, the original's --addr) and -n
// (default 10).
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// process sends one greeting and prints the outcome, as the original's
// process(stub, request).
func process(stub *pb.GreeterStub, request *pb.HelloRequest) {
	response, err := stub.SayHello.Call(request, grpc.WithTimeout(10*time.Second))
	var rpcError *grpc.RpcError
	switch {
	case errors.As(err, &rpcError):
		fmt.Printf("Received error: %s\n", rpcError)
	case err != nil:
		log.Fatal(err)
	default:
		// Python prints the message's text format (str(response)).
		fmt.Printf("Received message: %s\n", prototext.Format(response))
	}
}

func run(target string, n int) {
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	request := &pb.HelloRequest{Name: "you"}
	for range n {
		process(stub, request)
	}
}

func main() {
	target := flag.String("target", "[::]:50051", "the address to request")
	n := flag.Int("n", 10, "an integer for number of messages to sent")
	flag.Parse()
	run(*target, *n)
}
