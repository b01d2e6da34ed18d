// Command retry_client is grpc's examples/python/retry/retry_client.py in
// Go: a retry policy in the channel's service config makes SayHello
// succeed against the flaky server.
//
//	service_config_json = json.dumps({"methodConfig": [{   serviceConfigJSON, err := json.Marshal(map[string]any{"methodConfig": ...})
//	    "name": [{"service": "helloworld.Greeter", "method": "SayHello"}],
//	    "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.1s", "maxBackoff": "1s",
//	        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]})
//	options.append(("grpc.enable_retries", 1))             grpc.Option("grpc.enable_retries", 1)
//	options.append(("grpc.service_config", service_config_json))
//	                                                       grpc.Option("grpc.service_config", string(serviceConfigJSON))
//	with grpc.insecure_channel("localhost:50051", options=options) as channel:
//	                                                       channel, err := grpc.InsecureChannel(*target, options...); defer channel.Close()
//	response = stub.SayHello(helloworld_pb2.HelloRequest(name="you"))
//	                                                       response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"})
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()

	// The ServiceConfig proto is grpc/service_config/service_config.proto
	// of grpc/grpc-proto. To retry every method, "name" is [{}].
	serviceConfigJSON, err := json.Marshal(map[string]any{
		"methodConfig": []any{map[string]any{
			"name": []any{map[string]any{"service": "helloworld.Greeter", "method": "SayHello"}},
			"retryPolicy": map[string]any{
				"maxAttempts":          5,
				"initialBackoff":       "0.1s",
				"maxBackoff":           "1s",
				"backoffMultiplier":    2,
				"retryableStatusCodes": []string{"UNAVAILABLE"},
			},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	var options []grpc.ChannelOption
	// Retries are on by default in the core since 1.40; the original
	// still turns them on explicitly.
	options = append(options, grpc.Option("grpc.enable_retries", 1))
	options = append(options, grpc.Option("grpc.service_config", string(serviceConfigJSON)))
	channel, err := grpc.InsecureChannel(*target, options...)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"})
	if err != nil {
		log.Fatalf("SayHello failed: %v", err)
	}
	fmt.Println("Greeter client received: " + response.GetMessage())
}
