// Command greeter_server_with_reflection is grpc's helloworld
// greeter_server_with_reflection.py in Go: the Greeter server with
// server reflection, so grpcurl and grpc_cli can list, describe and call
// it without helloworld.proto.
//
// Python:
//
//	from grpc_reflection.v1alpha import reflection
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
//	helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
//	SERVICE_NAMES = (
//	    helloworld_pb2.DESCRIPTOR.services_by_name["Greeter"].full_name,
//	    reflection.SERVICE_NAME,
//	)
//	reflection.enable_server_reflection(SERVICE_NAMES, server)
//	server.add_insecure_port("[::]:50051")
//	server.start()
//	server.wait_for_termination()
//
// Go:
//
//	import "github.com/grpcpy/grpcpy/grpc/reflection"
//	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
//	pb.AddGreeterServicerToServer(greeter{}, server)
//	serviceNames := []string{
//	    pb.GreeterServiceName,
//	    reflection.ServiceName,
//	}
//	reflection.EnableServerReflection(serviceNames, server)
//	server.AddInsecurePort("[::]:50051")
//	server.Start()
//	server.WaitForTermination()
//
// Then: grpcurl -plaintext localhost:50051 list
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
	"github.com/grpcpy/grpcpy/grpc/reflection"
)

// greeter implements helloworld.Greeter.
type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
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
	serviceNames := []string{
		pb.GreeterServiceName, // helloworld_pb2.DESCRIPTOR.services_by_name["Greeter"].full_name
		reflection.ServiceName,
	}
	if err := reflection.EnableServerReflection(serviceNames, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("greeter_server_with_reflection: serving on port %d", port)
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
	pool.Shutdown(true)
	log.Print("greeter_server_with_reflection: stopped")
}
