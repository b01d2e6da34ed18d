// Command server is grpc's examples/python/errors/server.py in Go: a
// greeter that greets each name once and answers RESOURCE_EXHAUSTED
// "Request limit exceeded." to every later request for it.
//
// The original also packs a google.rpc.Status with a QuotaFailure detail
// (grpcio-status's rpc_status.to_status) into the trailing metadata; this
// port sends the code and details only (see README.md).
//
// Python:
//
//	with self._lock:
//	    if request.name in self._greeted:
//	        rich_status = create_greet_limit_exceed_error_status(request.name)
//	        context.abort_with_status(rpc_status.to_status(rich_status))
//	    else:
//	        self._greeted.add(request.name)
//	return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)
//
// Go:
//
//	g.mu.Lock()
//	defer g.mu.Unlock()
//	if g.greeted[request.GetName()] {
//	    context.Abort(grpc.StatusCodeResourceExhausted, "Request limit exceeded.")
//	}
//	g.greeted[request.GetName()] = true
//	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
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
	"sync"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// limitedGreeter implements helloworld.Greeter, once per name.
type limitedGreeter struct {
	mu      sync.Mutex
	greeted map[string]bool
}

func newLimitedGreeter() *limitedGreeter { return &limitedGreeter{greeted: map[string]bool{}} }

func (g *limitedGreeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	g.mu.Lock()
	defer g.mu.Unlock() // Abort unwinds the handler as Python's raise does: the lock is released
	if g.greeted[request.GetName()] {
		context.Abort(grpc.StatusCodeResourceExhausted, "Request limit exceeded.")
	}
	g.greeted[request.GetName()] = true
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

// createServer is the original's create_server: a server with the
// greeter, bound to serverAddress, not started yet.
func createServer(serverAddress string) (*grpc.Server, int) {
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor())
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(newLimitedGreeter(), server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(serverAddress)
	if err != nil {
		log.Fatal(err)
	}
	return server, port
}

func main() {
	addr := flag.String("addr", "[::]:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()

	server, port := createServer(*addr)
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
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
}
