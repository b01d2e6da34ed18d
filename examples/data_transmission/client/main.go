// Command client is grpc's examples/python/data_transmission/client.py in
// Go: one call of each of the four RPC shapes, printed as the original
// prints them.
//
//	with grpc.insecure_channel(SERVER_ADDRESS) as channel:   channel, err := grpc.InsecureChannel(*target); defer channel.Close()
//	    stub = demo_pb2_grpc.GRPCDemoStub(channel)           stub := pb.NewGRPCDemoStub(channel)
//	response = stub.SimpleMethod(request)                    response, err := stub.SimpleMethod.Call(request)
//	def request_messages(): ... yield request                requests := func(yield func(*pb.Request, error) bool) { ... }
//	response = stub.ClientStreamingMethod(request_messages())
//	                                                         response, err := stub.ClientStreamingMethod.Call(requests)
//	response_iterator = stub.ServerStreamingMethod(request)  responses, err := stub.ServerStreamingMethod.Call(request)
//	for response in response_iterator:                       for response, err := range responses.All() {
//	response_iterator = stub.BidirectionalStreamingMethod(request_messages())
//	                                                         responses, err := stub.BidirectionalStreamingMethod.Call(requests)
//
// The requests say "called by Go client" where the Python ones say
// "called by Python client", so the server shows which one called.
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/data_transmission/demo"
	"github.com/grpcpy/grpcpy/grpc"
)

const clientID = 1

// simpleMethod is unary-unary: one request, one response.
func simpleMethod(stub *pb.GRPCDemoStub) {
	fmt.Println("--------------Call SimpleMethod Begin--------------")
	request := &pb.Request{ClientId: clientID, RequestData: "called by Go client"}
	response, err := stub.SimpleMethod.Call(request)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("resp from server(%d), the message=%s\n", response.GetServerId(), response.GetResponseData())
	fmt.Println("--------------Call SimpleMethod Over---------------")
}

// clientStreamingMethod is stream-unary: five requests, one response.
func clientStreamingMethod(stub *pb.GRPCDemoStub) {
	fmt.Println("--------------Call ClientStreamingMethod Begin--------------")
	// The request generator: an iterator func.
	requestMessages := func(yield func(*pb.Request, error) bool) {
		for i := range 5 {
			if !yield(&pb.Request{ClientId: clientID, RequestData: fmt.Sprintf("called by Go client, message:%d", i)}, nil) {
				return
			}
		}
	}
	response, err := stub.ClientStreamingMethod.Call(requestMessages)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("resp from server(%d), the message=%s\n", response.GetServerId(), response.GetResponseData())
	fmt.Println("--------------Call ClientStreamingMethod Over---------------")
}

// serverStreamingMethod is unary-stream: one request, five responses.
func serverStreamingMethod(stub *pb.GRPCDemoStub) {
	fmt.Println("--------------Call ServerStreamingMethod Begin--------------")
	request := &pb.Request{ClientId: clientID, RequestData: "called by Go client"}
	responses, err := stub.ServerStreamingMethod.Call(request)
	if err != nil {
		log.Fatal(err)
	}
	for response, err := range responses.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("recv from server(%d), message=%s\n", response.GetServerId(), response.GetResponseData())
	}
	fmt.Println("--------------Call ServerStreamingMethod Over---------------")
}

// bidirectionalStreamingMethod is stream-stream: five requests a second
// apart while the server's responses are printed as they arrive.
func bidirectionalStreamingMethod(stub *pb.GRPCDemoStub) {
	fmt.Println("--------------Call BidirectionalStreamingMethod Begin---------------")
	requestMessages := func(yield func(*pb.Request, error) bool) {
		for i := range 5 {
			if !yield(&pb.Request{ClientId: clientID, RequestData: fmt.Sprintf("called by Go client, message: %d", i)}, nil) {
				return
			}
			time.Sleep(time.Second)
		}
	}
	responses, err := stub.BidirectionalStreamingMethod.Call(requestMessages)
	if err != nil {
		log.Fatal(err)
	}
	for response, err := range responses.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("recv from server(%d), message=%s\n", response.GetServerId(), response.GetResponseData())
	}
	fmt.Println("--------------Call BidirectionalStreamingMethod Over---------------")
}

func main() {
	target := flag.String("target", "localhost:23333", "server address")
	flag.Parse()

	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGRPCDemoStub(channel)

	simpleMethod(stub)
	clientStreamingMethod(stub)
	serverStreamingMethod(stub)
	bidirectionalStreamingMethod(stub)
}
