// Command auth_server is a greeter whose server interceptor demands an
// "authorization: Bearer <token>" header, as in grpcio's interceptor
// examples: RPCs without it end with UNAUTHENTICATED before any handler
// runs.
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

// RequireToken is the server half of the pair: a grpc.ServerInterceptor.
type RequireToken struct{ Token string }

// InterceptService checks the header and answers UNAUTHENTICATED for a
// missing or wrong token (a handler that aborts), or passes the RPC on.
func (r RequireToken) InterceptService(continuation func(*grpc.HandlerCallDetails) *grpc.RpcMethodHandler,
	details *grpc.HandlerCallDetails) *grpc.RpcMethodHandler {
	for _, v := range details.InvocationMetadata.Get("authorization") {
		if v == "Bearer "+r.Token {
			return continuation(details)
		}
	}
	return grpc.UnaryUnaryRpcMethodHandler(func(_ any, ctx *grpc.ServicerContext) (any, error) {
		ctx.Abort(grpc.StatusCodeUnauthenticated, "missing or invalid bearer token")
		return nil, nil
	})
}

type greeter struct {
	pb.UnimplementedGreeterServicer
}

func (greeter) SayHello(r *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + r.GetName() + "!"}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "address to listen on")
	portFile := flag.String("port_file", "", "if set, write the bound port here once serving")
	token := flag.String("token", "let-me-in", "the accepted bearer token")
	flag.Parse()
	server, err := grpc.NewServer(nil, grpc.WithInterceptors(RequireToken{*token}))
	if err != nil {
		log.Fatal(err)
	}
	pb.AddGreeterServicerToServer(greeter{}, server)
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	server.Start()
	log.Printf("auth_server: serving on port %d", port)
	if *portFile != "" {
		os.WriteFile(*portFile, []byte(fmt.Sprint(port)), 0o644)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; server.Stop(time.Second) }()
	server.WaitForTermination()
}
