// Command auth_client calls the auth_server greeter twice: without the
// header (UNAUTHENTICATED), then through a channel whose client
// interceptor adds "authorization: Bearer <token>" to every RPC.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// AddToken is the client half of the pair: a UnaryUnaryClientInterceptor
// that passes changed ClientCallDetails to its continuation.
type AddToken struct{ Token string }

// InterceptUnaryUnary adds the header and proceeds.
func (a AddToken) InterceptUnaryUnary(continuation grpc.UnaryUnaryContinuation,
	details *grpc.ClientCallDetails, request any) (grpc.CallFuture, error) {
	withToken := *details
	withToken.Metadata = append(append(grpc.Metadata(nil), details.Metadata...),
		grpc.Metadatum{Key: "authorization", Value: "Bearer " + a.Token})
	return continuation(&withToken, request)
}

func main() {
	target := flag.String("target", "localhost:50051", "server address")
	token := flag.String("token", "let-me-in", "bearer token to send")
	flag.Parse()
	channel, err := grpc.InsecureChannel(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	request := &pb.HelloRequest{Name: "you"}

	_, err = pb.NewGreeterStub(channel).SayHello.Call(request, grpc.WithTimeout(10*time.Second))
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeUnauthenticated {
		log.Fatalf("without a token: %v, want UNAUTHENTICATED", err)
	}
	fmt.Printf("Without a token: %s (%s)\n", rpcErr.Code(), rpcErr.Details())

	intercepted, err := grpc.InterceptChannel(channel, AddToken{*token})
	if err != nil {
		log.Fatal(err)
	}
	reply, err := pb.NewGreeterStub(intercepted).SayHello.Call(request, grpc.WithTimeout(10*time.Second))
	if err != nil {
		log.Fatalf("with the token: %v", err)
	}
	fmt.Println("With the token: " + reply.GetMessage())
}
