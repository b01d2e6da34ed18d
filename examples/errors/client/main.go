// Command client is grpc's examples/python/errors/client.py in Go: it asks
// the limited greeter for one greeting; refused (the second time it is run
// against the same server), it reads the rich error status back from the
// trailing metadata and logs its QuotaFailure detail.
//
// Python:
//
//	try:
//	    response = stub.SayHello(helloworld_pb2.HelloRequest(name="Alice"))
//	    _LOGGER.info("Call success: %s", response.message)
//	except grpc.RpcError as rpc_error:
//	    _LOGGER.error("Call failure: %s", rpc_error)
//	    status = rpc_status.from_call(rpc_error)
//	    for detail in status.details:
//	        if detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
//	            info = error_details_pb2.QuotaFailure()
//	            detail.Unpack(info)
//	            _LOGGER.error("Quota failure: %s", info)
//	        else:
//	            raise RuntimeError("Unexpected failure: %s" % detail)
//
// Go:
//
//	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "Alice"})
//	var rpcError *grpc.RpcError
//	if errors.As(err, &rpcError) {
//	    slog.Error(fmt.Sprintf("Call failure: %s", rpcError))
//	    richStatus, err := status.FromCall(rpcError)
//	    for _, detail := range richStatus.GetDetails() {
//	        info := &errdetails.QuotaFailure{}
//	        if !detail.MessageIs(info) {
//	            log.Fatalf("Unexpected failure: %s", detail)
//	        }
//	        detail.UnmarshalTo(info)
//	        slog.Error(fmt.Sprintf("Quota failure: %s", info))
//	    }
//	}
//
// Flag: --target (default localhost:50051, the original's).
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/status"
)

func process(stub *pb.GreeterStub) {
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "Alice"})
	var rpcError *grpc.RpcError
	if errors.As(err, &rpcError) {
		slog.Error(fmt.Sprintf("Call failure: %s", rpcError))
		richStatus, err := status.FromCall(rpcError)
		if err != nil {
			log.Fatal(err) // the trailer disagrees with the status (grpcio-status's ValueError)
		}
		if richStatus == nil {
			log.Fatal("no rich status in the trailing metadata") // Python: AttributeError on None.details
		}
		for _, detail := range richStatus.GetDetails() {
			info := &errdetails.QuotaFailure{}
			if !detail.MessageIs(info) {
				log.Fatalf("Unexpected failure: %s", detail) // Python raises RuntimeError
			}
			if err := detail.UnmarshalTo(info); err != nil {
				log.Fatal(err)
			}
			slog.Error(fmt.Sprintf("Quota failure: %s", info))
		}
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
