// Command greeter_server is grpc's examples/python/interceptors/headers/
// greeter_server.py (with request_header_validator_interceptor.py, here
// request_header_validator_interceptor.go) in Go: a greeter behind a
// server interceptor that refuses, with UNAUTHENTICATED "Access denied!",
// every RPC that does not carry the header "one-time-password: 42".
//
// Python:
//
//	header_validator = RequestHeaderValidatorInterceptor(
//	    "one-time-password", "42", grpc.StatusCode.UNAUTHENTICATED, "Access denied!")
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=10),
//	                     interceptors=[header_validator])
//	helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
//
//	class RequestHeaderValidatorInterceptor(grpc.ServerInterceptor):
//	    def intercept_service(self, continuation, handler_call_details):
//	        if (self._header, self._value) in handler_call_details.invocation_metadata:
//	            return continuation(handler_call_details)
//	        else:
//	            return self._terminator
//
// Go:
//
//	headerValidator := newRequestHeaderValidatorInterceptor(
//	    "one-time-password", "42", grpc.StatusCodeUnauthenticated, "Access denied!")
//	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10),
//	    grpc.WithInterceptors(headerValidator))
//	pb.AddGreeterServicerToServer(greeter{}, server)
//
//	func (i *requestHeaderValidatorInterceptor) InterceptService(continuation func(*grpc.HandlerCallDetails) *grpc.RpcMethodHandler,
//	    handlerCallDetails *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
//	    if slices.Contains(handlerCallDetails.InvocationMetadata, grpc.Metadatum{Key: i.header, Value: i.value}) {
//	        return continuation(handlerCallDetails)
//	    }
//	    return i.terminator
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
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// greeter implements helloworld.Greeter.
type greeter struct {
	pb.UnimplementedGreeterServicer
}

func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

func serve(addr, portFile string) {
	headerValidator := newRequestHeaderValidatorInterceptor(
		"one-time-password",
		"42",
		grpc.StatusCodeUnauthenticated,
		"Access denied!",
	)
	server, err := grpc.NewServer(
		grpc.NewThreadPoolExecutor(10),
		grpc.WithInterceptors(headerValidator),
	)
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
