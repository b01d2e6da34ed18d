// Command greeter_client is grpc's examples/python/keep_alive/
// greeter_client.py in Go: a Greeter client whose channel sends keepalive
// pings, then stays idle for 30 seconds.
//
//	channel_options = [                                  channelOptions := []grpc.ChannelOption{
//	    ("grpc.keepalive_time_ms", 8000),                    grpc.Option("grpc.keepalive_time_ms", 8000),
//	    ("grpc.keepalive_timeout_ms", 5000),                 grpc.Option("grpc.keepalive_timeout_ms", 5000),
//	    ("grpc.http2.max_pings_without_data", 5),            grpc.Option("grpc.http2.max_pings_without_data", 5),
//	    ("grpc.keepalive_permit_without_calls", 1),          grpc.Option("grpc.keepalive_permit_without_calls", 1),
//	]                                                    }
//	with grpc.insecure_channel(target="localhost:50051", options=channel_options) as channel:
//	                                                     channel, err := grpc.InsecureChannel(*target, channelOptions...); defer channel.Close()
//	except grpc.RpcError as rpc_error:                   var rpcError *grpc.RpcError; if errors.As(err, &rpcError) {
//	    print("Call failed with code: ", rpc_error.code())   fmt.Println("Call failed with code: ", rpcError.Code())
//	for i in range(30):                                  for i := range 30 {
//	    print(f"{i} seconds paased."); sleep(1)              fmt.Printf("%d seconds paased.\n", i); time.Sleep(time.Second)
//
// Run it with GRPC_VERBOSITY=DEBUG GRPC_TRACE=http_keepalive to see the
// pings in the log; the server's grpc.max_connection_idle_ms closes the
// idle connection (GOAWAY) after ten seconds.
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
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: message})
	var rpcError *grpc.RpcError
	switch {
	case err == nil:
		fmt.Printf("Greeter client received: %s\n", response.GetMessage())
	case errors.As(err, &rpcError):
		fmt.Println("Call failed with code: ", rpcError.Code())
	default:
		log.Fatal(err)
	}
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()

	// grpc.keepalive_time_ms: how long (ms) the transport waits before
	//   pinging the server.
	// grpc.keepalive_timeout_ms: how long (ms) it waits for the ping's
	//   acknowledgement before closing the connection.
	// grpc.keepalive_permit_without_calls: 1 pings even with no RPC in
	//   flight.
	// grpc.http2.max_pings_without_data: how many pings may be sent before
	//   a data or header frame must be.
	// See https://github.com/grpc/grpc/blob/master/doc/keepalive.md.
	channelOptions := []grpc.ChannelOption{
		grpc.Option("grpc.keepalive_time_ms", 8000),
		grpc.Option("grpc.keepalive_timeout_ms", 5000),
		grpc.Option("grpc.http2.max_pings_without_data", 5),
		grpc.Option("grpc.keepalive_permit_without_calls", 1),
	}
	channel, err := grpc.InsecureChannel(*target, channelOptions...)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	// Should succeed.
	unaryCall(stub, 1, "you")

	// 30 idle seconds: with GRPC_VERBOSITY=DEBUG GRPC_TRACE=http_keepalive
	// the log shows the pings, then the server's GOAWAY closes the
	// connection.
	for i := range 30 {
		fmt.Printf("%d seconds paased.\n", i)
		time.Sleep(time.Second)
	}
}
