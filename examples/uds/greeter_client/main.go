// Command greeter_client is grpc's examples/python/uds/greeter_client.py
// in Go: one channel per Unix domain socket address, one SayHello each.
//
//	uds_addresses = ["unix:helloworld.sock", "unix:///tmp/helloworld.sock"]
//	                                                      targets := strings.Split(*target, ",")   // the same two, and unix-abstract:grpcpy_helloworld
//	for uds_address in uds_addresses:                     for _, udsAddress := range targets {
//	    with grpc.insecure_channel(uds_address) as channel:   channel, err := grpc.InsecureChannel(udsAddress); ...; channel.Close()
//	        stub = helloworld_pb2_grpc.GreeterStub(channel)   stub := pb.NewGreeterStub(channel)
//	        response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
//	                                                          response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"})
//	        logging.info("Received: %s", response.message)    info.Printf("Received: %s", response.GetMessage())
//
// --target is a comma-separated list of targets.
package main

import (
	"flag"
	"log"
	"os"
	"strings"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// logging.info(...) with logging.basicConfig(level=logging.INFO).
var info = log.New(os.Stderr, "INFO:root:", 0)

// sayHello is the body of the original's with block: the channel is
// closed when it returns.
func sayHello(udsAddress string) {
	channel, err := grpc.InsecureChannel(udsAddress)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"})
	if err != nil {
		log.Fatalf("SayHello on %s failed: %v", udsAddress, err)
	}
	info.Printf("Received: %s", response.GetMessage())
}

func main() {
	target := flag.String("target", "unix:helloworld.sock,unix:///tmp/helloworld.sock,unix-abstract:grpcpy_helloworld",
		"comma-separated targets")
	flag.Parse()

	for _, udsAddress := range strings.Split(*target, ",") {
		sayHello(udsAddress)
	}
}
