// Command greeter_client is grpc's examples/python/timeout/greeter_client.py
// in Go: two calls with a three-second timeout, one the server answers at
// once and one it takes five seconds over, which ends DEADLINE_EXCEEDED.
//
// Python:
//
//	try:
//	    response = stub.SayHello(helloworld_pb2.HelloRequest(name=message), timeout=3)
//	    print(f"Greeter client received: {response.message}")
//	except grpc.RpcError as rpc_error:
//	    print(f"Call failed with code: {rpc_error.code()}")
//
// Go:
//
//	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: message}, grpc.WithTimeout(3*time.Second))
//	var rpcError *grpc.RpcError
//	if errors.As(err, &rpcError) {
//	    fmt.Printf("Call failed with code: %s\n", rpcError.Code())
//	} else if err == nil {
//	    fmt.Printf("Greeter client received: %s\n", response.GetMessage())
//	}
//
// Flag: --target (default localhost:50051, the original's).
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

func unaryCall(stub *pb.GreeterStub, requestID int, message string) {
	fmt.Println("call:", requestID)
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: message}, grpc.WithTimeout(3*time.Second))
	var rpcError *grpc.RpcError
	switch {
	case errors.As(err, &rpcError):
		fmt.Printf("Call failed with code: %s\n", rpcError.Code())
	case err != nil:
		log.Fatal(err) // not an RPC's end: a bad argument, say
	default:
		fmt.Printf("Greeter client received: %s\n", response.GetMessage())
	}
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()

	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	// Should succeed.
	unaryCall(stub, 1, "you")
	// Should fail with DEADLINE_EXCEEDED.
	unaryCall(stub, 2, "[delay] you")
}
