// Command metadata_client is grpc's examples/python/metadata/
// metadata_client.py in Go: one greeting sent with metadata of its own
// (a text value, a binary "-bin" value, a token), called with with_call to
// read the trailing metadata the server sends back.
//
// Python:
//
//	with grpc.insecure_channel("localhost:50051") as channel:
//	    stub = helloworld_pb2_grpc.GreeterStub(channel)
//	    response, call = stub.SayHello.with_call(
//	        helloworld_pb2.HelloRequest(name="you"),
//	        metadata=(
//	            ("initial-metadata-1", "The value should be str"),
//	            ("binary-metadata-bin", b"With -bin surffix, the value can be bytes"),
//	            ("accesstoken", "gRPC Python is great"),
//	        ),
//	    )
//	print("Greeter client received: " + response.message)
//	for key, value in call.trailing_metadata():
//	    print("Greeter client received trailing metadata: key=%s value=%s" % (key, value))
//
// Go:
//
//	channel, err := grpc.InsecureChannel(*target)
//	defer channel.Close()
//	stub := pb.NewGreeterStub(channel)
//	response, call, err := stub.SayHello.WithCall(&pb.HelloRequest{Name: "you"},
//	    grpc.WithMetadata(grpc.Metadata{
//	        {Key: "initial-metadata-1", Value: "The value should be str"},
//	        {Key: "binary-metadata-bin", Value: "With -bin surffix, the value can be bytes"},
//	        {Key: "accesstoken", Value: "gRPC Python is great"},
//	    }))
//	fmt.Println("Greeter client received: " + response.GetMessage())
//	for _, md := range call.TrailingMetadata() {
//	    fmt.Printf("Greeter client received trailing metadata: key=%s value=%s\n", md.Key, pyValue(md))
//	}
//
// Flag: --target (default localhost:50051, the original's).
package main

import (
	"flag"
	"fmt"
	"log"
	"strings"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// pyValue prints a metadata value as Python's %s does: a str as it is, the
// bytes of a "-bin" key as their repr, b'...'.
func pyValue(md grpc.Metadatum) string {
	if !strings.HasSuffix(md.Key, "-bin") {
		return md.Value
	}
	quote := byte('\'')
	if strings.Contains(md.Value, "'") && !strings.Contains(md.Value, `"`) {
		quote = '"'
	}
	b := []byte{'b', quote}
	for _, c := range []byte(md.Value) {
		switch {
		case c == '\\' || c == quote:
			b = append(b, '\\', c)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c < 0x20 || c >= 0x7f:
			b = fmt.Appendf(b, `\x%02x`, c)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, quote))
}

func run(target string) {
	channel, err := grpc.InsecureChannel(target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close() // the with statement
	stub := pb.NewGreeterStub(channel)
	response, call, err := stub.SayHello.WithCall(
		&pb.HelloRequest{Name: "you"},
		grpc.WithMetadata(grpc.Metadata{
			{Key: "initial-metadata-1", Value: "The value should be str"},
			{Key: "binary-metadata-bin", Value: "With -bin surffix, the value can be bytes"},
			{Key: "accesstoken", Value: "gRPC Python is great"},
		}),
	)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("Greeter client received: " + response.GetMessage())
	for _, md := range call.TrailingMetadata() {
		fmt.Printf("Greeter client received trailing metadata: key=%s value=%s\n", md.Key, pyValue(md))
	}
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	flag.Parse()
	run(*target)
}
