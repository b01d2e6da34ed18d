// Command greeter_server is grpc's examples/python/timeout/greeter_server.py
// in Go: a greeter that takes five seconds to answer names starting with
// "[delay]", longer than the client's deadline.
//
// Python:
//
//	def SayHello(self, request, context):
//	    message = request.name
//	    if message.startswith("[delay]"):
//	        sleep(5)
//	    return helloworld_pb2.HelloReply(message=message)
//
// Go:
//
//	func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
//	    message := request.GetName()
//	    if strings.HasPrefix(message, "[delay]") {
//	        time.Sleep(5 * time.Second)
//	    }
//	    return &pb.HelloReply{Message: message}, nil
//	}
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

// greeter implements helloworld.Greeter, slowly for "[delay]" names.
type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	message := request.GetName()
	if strings.HasPrefix(message, "[delay]") {
		time.Sleep(5 * time.Second)
	}
	return &pb.HelloReply{Message: message}, nil
}

func main() {
	addr := flag.String("addr", "[::]:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()

	pool := grpc.NewThreadPoolExecutor(10)
	server, err := grpc.NewServer(pool)
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(greeter{}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Server started, listening on %d\n", port)
	if *portFile != "" {
		if err := os.WriteFile(*portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
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
	pool.Shutdown(false)
}
