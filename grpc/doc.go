// Package grpc is the API of gRPC Python's grpc module (grpcio 1.18), in Go,
// over the gRPC C core (libgrpc). Code written against grpcio ports name
// for name; docs/python-to-go.md lists every documented name.
//
// # Names
//
// Module functions and methods in snake_case become CamelCase
// (grpc.insecure_channel → InsecureChannel, add_insecure_port →
// AddInsecurePort); enum members become Type+Member
// (StatusCode.NOT_FOUND → StatusCodeNotFound); keyword arguments become
// options (timeout= → WithTimeout); float seconds become time.Duration;
// exceptions become error types matched with errors.As (RpcError,
// FutureTimeoutError, FutureCancelledError, ValueError). __call__ is Call.
// grpc.server() is NewServer because Server is the type.
//
// # Client
//
//	ch, err := grpc.InsecureChannel("localhost:50051")
//	defer ch.Close()
//	sayHello := ch.UnaryUnary("/helloworld.Greeter/SayHello",
//		grpc.WithRequestSerializer(grpc.ProtoSerializer),
//		grpc.WithResponseDeserializer(grpc.ProtoDeserializer[pb.HelloReply]()))
//	reply, err := sayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithTimeout(5*time.Second))
//	var rpcErr *grpc.RpcError
//	if errors.As(err, &rpcErr) { log.Print(rpcErr.Code(), rpcErr.Details()) }
//
// A unary call is one batch of six ops on a shared completion queue. The
// calling goroutine either parks on a Go channel or, when the queue's
// polling token is free, polls the queue itself; at most one thread per
// queue is in the core's poll, so any number of blocking calls costs no
// OS threads.
//
// # Server
//
//	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
//	server.AddGenericRpcHandlers(grpc.MethodHandlersGenericHandler("helloworld.Greeter",
//		map[string]*grpc.RpcMethodHandler{"SayHello": grpc.UnaryUnaryRpcMethodHandler(sayHello)}))
//	port, err := server.AddInsecurePort("[::]:50051")
//	server.Start()
//	server.WaitForTermination()
//
// Handlers return (response, error). An error or a panic ends the RPC as a
// raised exception does in grpcio (UNKNOWN, "Exception calling
// application: ..."), unless SetCode chose a code. ServicerContext.Abort
// unwinds the handler like Python's raise. A nil thread pool runs each RPC
// on its own goroutine.
//
// # Generated code
//
// cmd/protoc-gen-grpcpy generates FooStub, FooServicer and
// AddFooServicerToServer from .proto files, the Go twin of *_pb2_grpc.py.
package grpc
