// Command client is grpc's examples/python/compression/client.py in Go:
// one SayHello whose request is compressed with the channel's algorithm,
// or with the call's when it names one.
//
//	with grpc.insecure_channel(target,                            channel, err := grpc.InsecureChannel(target,
//	        compression=channel_compression) as channel:              grpc.ChannelCompression(channelCompression))
//	                                                              defer channel.Close()
//	    stub = helloworld_pb2_grpc.GreeterStub(channel)           stub := pb.NewGreeterStub(channel)
//	    response = stub.SayHello(                                 response, err := stub.SayHello.Call(
//	        helloworld_pb2.HelloRequest(name='you'),                  &pb.HelloRequest{Name: name},
//	        compression=call_compression,                             grpc.WithCompression(callCompression),
//	        wait_for_ready=True)                                      grpc.WithWaitForReady(true))
//	    print("Response: {}".format(response))                    fmt.Printf("Response: %s\n", str(response))
//
// Flags: the original's --channel_compression and --call_compression
// (none, deflate or gzip), --target (also spelled --server, the
// original's name; default localhost:50051), and --name_size, an addition
// for observing the compression: a name of that many bytes ("youyouyo...")
// instead of 'you' (0, the default, sends 'you').
//
// One difference on purpose: --call_compression defaults to "" (the
// channel's algorithm), where the original's default is "none". grpcio
// 1.51 treats Compression.NoCompression as "not set", so the original's
// default leaves the channel's algorithm in force; grpcpy honours
// WithCompression(grpc.CompressionNoCompression) and sends the call plain,
// so the Go client passes it only when --call_compression is given.
package main

import (
	"flag"
	"fmt"
	"log"
	"strconv"
	"strings"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

var compressionOptions = map[string]grpc.Compression{
	"none":    grpc.CompressionNoCompression,
	"deflate": grpc.CompressionDeflate,
	"gzip":    grpc.CompressionGzip,
}

// str is Python's str() of a HelloReply: its text format.
func str(r *pb.HelloReply) string {
	if r.GetMessage() == "" {
		return ""
	}
	return "message: " + strconv.Quote(r.GetMessage()) + "\n"
}

func runClient(channelCompression grpc.Compression, callCompression *grpc.Compression, target, name string) {
	channel, err := grpc.InsecureChannel(target, grpc.ChannelCompression(channelCompression))
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewGreeterStub(channel)
	opts := []grpc.CallOption{grpc.WithWaitForReady(true)}
	if callCompression != nil {
		opts = append(opts, grpc.WithCompression(*callCompression))
	}
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: name}, opts...)
	if err != nil {
		log.Fatalf("SayHello failed: %v", err)
	}
	fmt.Printf("Response: %s\n", str(response))
}

// choice parses a --*_compression value.
func choice(flagName, value string) grpc.Compression {
	c, ok := compressionOptions[value]
	if !ok {
		log.Fatalf("--%s: invalid choice %q (choose from none, deflate, gzip)", flagName, value)
	}
	return c
}

func main() {
	channelCompression := flag.String("channel_compression", "none", "The compression method to use for the channel (none, deflate or gzip).")
	callCompression := flag.String("call_compression", "", "The compression method to use for an individual call (none, deflate or gzip; default: the channel's).")
	var target string
	flag.StringVar(&target, "target", "localhost:50051", "The host-port pair at which to reach the server.")
	flag.StringVar(&target, "server", "localhost:50051", "The same as --target (the original's name).")
	nameSize := flag.Int("name_size", 0, "If set, send a name of this many bytes instead of 'you'.")
	flag.Parse()

	name := "you"
	if *nameSize > 0 {
		name = strings.Repeat("you", *nameSize/3+1)[:*nameSize]
	}
	var call *grpc.Compression
	if *callCompression != "" {
		c := choice("call_compression", *callCompression)
		call = &c
	}
	runClient(choice("channel_compression", *channelCompression), call, target, name)
}
