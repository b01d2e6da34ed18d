// Command client is grpc's examples/python/errors/client.py in Go: it asks
// the limited greeter for one greeting and logs the failure the second
// time it is run against the same server.
//
// The original then reads the google.rpc.Status the server packed into
// the trailing metadata (grpcio-status's rpc_status.from_call) and logs
// its QuotaFailure detail; this port has the code and details only (see
// README.md).
//
// Python:
//
//	try:
//	    response = stub.SayHello(helloworld_pb2.HelloRequest(name="Alice"))
//	    _LOGGER.info("Call success: %s", response.message)
//	except grpc.RpcError as rpc_error:
//	    _LOGGER.error("Call failure: %s", rpc_error)
//	    status = rpc_status.from_call(rpc_error)
//	    ...
//
// Go:
//
//	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "Alice"})
//	var rpcError *grpc.RpcError
//	if errors.As(err, &rpcError) {
//	    slog.Error(fmt.Sprintf("Call failure: %s", rpcError))
//	    ...
//	}
//	slog.Info(fmt.Sprintf("Call success: %s", response.GetMessage()))
//
// Flag: --target (default localhost:50051, the original's).
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

func process(stub *pb.GreeterStub) {
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "Alice"})
	var rpcError *grpc.RpcError
	if errors.As(err, &rpcError) {
		slog.Error(fmt.Sprintf("Call failure: %s", rpcError))
		// Where the original unpacks the QuotaFailure detail, the code and
		// the details are what there is.
		slog.Error(fmt.Sprintf("Status: code=%s details=%s", rpcError.Code(), rpcError.Details()))
		return
	}
	if err != nil {
		log.Fatal(err) // not an RPC's end: a bad argument, say
	}
	slog.Info(fmt.Sprintf("Call success: %s", response.GetMessage()))
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()

	// The original uses `with grpc.insecure_channel(...)`; Close is its exit.
	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	process(stub)
}
