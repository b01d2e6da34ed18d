// Command metadata_server is grpc's examples/python/metadata/
// metadata_server.py in Go: a greeter that prints the invocation metadata
// (the client's initial metadata, HTTP/2 headers) of each call and sends
// trailing metadata back with its status.
//
// Python:
//
//	def SayHello(self, request, context):
//	    for key, value in context.invocation_metadata():
//	        print("Received initial metadata: key=%s value=%s" % (key, value))
//	    context.set_trailing_metadata(
//	        (
//	            ("checksum-bin", b"I agree"),
//	            ("retry", "false"),
//	        )
//	    )
//	    return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)
//
// Go:
//
//	func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
//	    for _, md := range context.InvocationMetadata() {
//	        fmt.Printf("Received initial metadata: key=%s value=%s\n", md.Key, pyValue(md))
//	    }
//	    context.SetTrailingMetadata(grpc.Metadata{
//	        {Key: "checksum-bin", Value: "I agree"},
//	        {Key: "retry", Value: "false"},
//	    })
//	    return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
//	}
//
// Metadata values are Go strings; those of "-bin" keys are bytes, which
// Python prints as b'...' (pyValue does the same).
//
// Flags: --addr (default [::]:50051, the original's) and --port_file
// (written once serving). SIGINT or SIGTERM stops it.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

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

// greeter implements helloworld.Greeter.
type greeter struct {
	pb.UnimplementedGreeterServicer
}

func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	for _, md := range context.InvocationMetadata() {
		fmt.Printf("Received initial metadata: key=%s value=%s\n", md.Key, pyValue(md))
	}

	if err := context.SetTrailingMetadata(grpc.Metadata{
		{Key: "checksum-bin", Value: "I agree"},
		{Key: "retry", Value: "false"},
	}); err != nil {
		return nil, err
	}
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

func serve(addr, portFile string) {
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(greeter{}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	if portFile != "" {
		if err := os.WriteFile(portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		server.Stop(time.Second)
	}()
	server.WaitForTermination()
}

func main() {
	addr := flag.String("addr", "[::]:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()
	serve(*addr, *portFile)
}
