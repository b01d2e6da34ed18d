package status_test

import (
	"errors"
	"fmt"
	"log"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/status"
)

// The errors example in one process: the server aborts with a rich status
// (rpc_status.to_status), the client reads it back (rpc_status.from_call)
// and unpacks its QuotaFailure.
func Example() {
	sayHello := func(request any, context *grpc.ServicerContext) (any, error) {
		detail, err := anypb.New(&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{
			{Subject: "name: " + string(request.([]byte)), Description: "Limit one greeting per person"},
		}})
		if err != nil {
			return nil, err
		}
		richStatus, err := status.ToStatus(&spb.Status{
			Code:    int32(grpc.StatusCodeResourceExhausted),
			Message: "Request limit exceeded.",
			Details: []*anypb.Any{detail},
		})
		if err != nil {
			return nil, err
		}
		context.AbortWithStatus(richStatus)
		return nil, nil
	}
	server, _ := grpc.NewServer(grpc.NewThreadPoolExecutor())
	server.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler("helloworld.Greeter",
		map[string]*grpc.RpcMethodHandler{"SayHello": grpc.UnaryUnaryRpcMethodHandler(sayHello)}))
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { server.Stop(grpc.NoGrace).Wait() }()

	channel, _ := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	defer channel.Close()
	_, err = channel.UnaryUnary("/helloworld.Greeter/SayHello").Call([]byte("Alice"))
	var rpcError *grpc.RpcError
	if !errors.As(err, &rpcError) {
		log.Fatalf("not an RpcError: %v", err)
	}
	fmt.Println("Call failure:", rpcError.Code(), rpcError.Details())
	richStatus, err := status.FromCall(rpcError)
	if err != nil {
		log.Fatal(err)
	}
	for _, detail := range richStatus.GetDetails() {
		info := &errdetails.QuotaFailure{}
		if !detail.MessageIs(info) {
			log.Fatalf("Unexpected failure: %v", detail)
		}
		if err := detail.UnmarshalTo(info); err != nil {
			log.Fatal(err)
		}
		for _, v := range info.GetViolations() {
			fmt.Printf("Quota failure: subject %q, description %q\n", v.GetSubject(), v.GetDescription())
		}
	}
	// Output:
	// Call failure: StatusCode.RESOURCE_EXHAUSTED Request limit exceeded.
	// Quota failure: subject "name: Alice", description "Limit one greeting per person"
}
