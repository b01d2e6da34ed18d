// Command get_stats is grpc's examples/python/debug/get_stats.py in Go:
// it asks the server's channelz service for its servers and prints the
// answer: how many calls each has started, and how many succeeded and
// failed.
//
// Python:
//
//	with grpc.insecure_channel(addr) as channel:
//	    channelz_stub = channelz_pb2_grpc.ChannelzStub(channel)
//	    response = channelz_stub.GetServers(channelz_pb2.GetServersRequest())
//	    print(f"Info for all servers: {response}")
//
// Go:
//
//	channelzStub := channelz.NewChannelzStub(channel)
//	response, err := channelzStub.GetServers.Call(channelz.NewMessage("GetServersRequest"))
//	fmt.Printf("Info for all servers: %s\n", prototext.Format(response))
//
// Flags: --target (default [::]:50051, the original's --addr).
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/channelz"
)

func run(target string) {
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	channelzStub := channelz.NewChannelzStub(channel)
	// This RPC pulls server-level metrics, like sent/received messages,
	// succeeded/failed RPCs. For more info see:
	// https://github.com/grpc/grpc/blob/master/src/proto/grpc/channelz/channelz.proto
	response, err := channelzStub.GetServers.Call(channelz.NewMessage("GetServersRequest"), grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Info for all servers: %s\n", prototext.Format(response))
}

func main() {
	target := flag.String("target", "[::]:50051", "the address to request")
	flag.Parse()
	run(*target)
}
