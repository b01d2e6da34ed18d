// Command debug_server is grpc's examples/python/debug/debug_server.py in
// Go: a greeter that fails a share of its calls at random, with the
// channelz service on the same server, so get_stats can read how many
// calls it has seen, succeeded and failed.
//
// Python:
//
//	def SayHello(self, request, context):
//	    if random.random() < self._failure_rate:
//	        context.abort(grpc.StatusCode.UNAVAILABLE, 'Randomly injected failure.')
//	    return protos.HelloReply(message='Hello, %s!' % request.name)
//
//	server = grpc.server(futures.ThreadPoolExecutor())
//	services.add_GreeterServicer_to_server(FaultInjectGreeter(failure_rate), server)
//	channelz.add_channelz_servicer(server)
//	server.add_insecure_port(addr)
//
// Go:
//
//	if rand.Float64() < g.failureRate {
//	    context.Abort(grpc.StatusCodeUnavailable, "Randomly injected failure.")
//	}
//	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
//
//	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor())
//	pb.AddGreeterServicerToServer(&faultInjectGreeter{failureRate}, server)
//	channelz.AddChannelzServicer(server)
//	server.AddInsecurePort(addr)
//
// Flags: --addr (default [::]:50051, the original's), --failure_rate
// (default 0.3) and --port_file (written once serving). SIGINT or SIGTERM
// stops it.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/channelz"
)

// faultInjectGreeter implements helloworld.Greeter, failing a share of
// the calls with UNAVAILABLE.
type faultInjectGreeter struct {
	failureRate float64
}

func (g *faultInjectGreeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	if rand.Float64() < g.failureRate {
		context.Abort(grpc.StatusCodeUnavailable, "Randomly injected failure.")
	}
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

// createServer is the original's create_server: the greeter and the
// channelz servicer on a server bound to addr, not started yet.
func createServer(addr string, failureRate float64) (*grpc.Server, int) {
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor())
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(&faultInjectGreeter{failureRate: failureRate}, server); err != nil {
		log.Fatal(err)
	}
	// Add the channelz servicer to the gRPC server.
	if err := channelz.AddChannelzServicer(server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(addr)
	if err != nil {
		log.Fatal(err)
	}
	return server, port
}

func main() {
	addr := flag.String("addr", "[::]:50051", "the address to listen on")
	failureRate := flag.Float64("failure_rate", 0.3, "a float indicates the percentage of failed message injections")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()

	server, port := createServer(*addr, *failureRate)
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
