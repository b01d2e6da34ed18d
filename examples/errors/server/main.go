// Command server is grpc's examples/python/errors/server.py in Go: a
// greeter that greets each name once and answers every later request for
// it with a rich error status, a google.rpc.Status with the code
// RESOURCE_EXHAUSTED, the message "Request limit exceeded." and a
// QuotaFailure detail, sent in the trailing metadata by AbortWithStatus.
//
// Python:
//
//	detail = any_pb2.Any()
//	detail.Pack(error_details_pb2.QuotaFailure(violations=[
//	    error_details_pb2.QuotaFailure.Violation(subject="name: %s" % name,
//	        description="Limit one greeting per person")]))
//	return status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED,
//	    message="Request limit exceeded.", details=[detail])
//	...
//	with self._lock:
//	    if request.name in self._greeted:
//	        rich_status = create_greet_limit_exceed_error_status(request.name)
//	        context.abort_with_status(rpc_status.to_status(rich_status))
//
// Go:
//
//	detail, err := anypb.New(&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{
//	    {Subject: fmt.Sprintf("name: %s", name), Description: "Limit one greeting per person"}}})
//	return &spb.Status{Code: int32(code.Code_RESOURCE_EXHAUSTED),
//	    Message: "Request limit exceeded.", Details: []*anypb.Any{detail}}, nil
//	...
//	g.mu.Lock()
//	defer g.mu.Unlock()
//	if g.greeted[request.GetName()] {
//	    richStatus, err := createGreetLimitExceedErrorStatus(request.GetName())
//	    st, err := status.ToStatus(richStatus)
//	    context.AbortWithStatus(st)
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
	"sync"
	"syscall"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/status"
)

// createGreetLimitExceedErrorStatus is the original's
// create_greet_limit_exceed_error_status: RESOURCE_EXHAUSTED with one
// QuotaFailure violation, packed as an Any.
func createGreetLimitExceedErrorStatus(name string) (*spb.Status, error) {
	detail, err := anypb.New(&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{
		{Subject: fmt.Sprintf("name: %s", name), Description: "Limit one greeting per person"},
	}})
	if err != nil {
		return nil, err
	}
	return &spb.Status{
		Code:    int32(code.Code_RESOURCE_EXHAUSTED),
		Message: "Request limit exceeded.",
		Details: []*anypb.Any{detail},
	}, nil
}

// limitedGreeter implements helloworld.Greeter, once per name.
type limitedGreeter struct {
	mu      sync.Mutex
	greeted map[string]bool
}

func newLimitedGreeter() *limitedGreeter { return &limitedGreeter{greeted: map[string]bool{}} }

func (g *limitedGreeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	g.mu.Lock()
	defer g.mu.Unlock() // AbortWithStatus unwinds the handler as Python's raise does: the lock is released
	if g.greeted[request.GetName()] {
		richStatus, err := createGreetLimitExceedErrorStatus(request.GetName())
		if err != nil {
			return nil, err
		}
		st, err := status.ToStatus(richStatus)
		if err != nil {
			return nil, err
		}
		context.AbortWithStatus(st)
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
