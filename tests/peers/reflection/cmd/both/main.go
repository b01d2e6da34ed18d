// Command both is one binary that links grpcpy's reflection
// (github.com/grpcpy/grpcpy/grpc/reflection) and grpc-go's
// (google.golang.org/grpc/reflection, with grpc-go's health service):
// grpc-go's generated packages register grpc.reflection.v1,
// grpc.reflection.v1alpha and grpc.health.v1 in protobuf-go's global
// registry, and grpcpy keeps its copies in a registry of its own, so the
// program starts (a name registered twice would make protobuf-go panic at
// start-up) and serves both.
//
// It serves helloworld.Greeter with grpcpy reflection on --grpcpy_addr and
// grpc-go's health service with grpc-go reflection on --grpcgo_addr, and
// writes the two ports, one a line, to --port_file once serving. SIGINT or
// SIGTERM stops it.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	grpcgo "google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	goreflection "google.golang.org/grpc/reflection"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/grpc/reflection"
)

type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello, " + request.GetName() + "!"}, nil
}

func main() {
	grpcpyAddr := flag.String("grpcpy_addr", "127.0.0.1:0", "grpcpy server's address")
	grpcgoAddr := flag.String("grpcgo_addr", "127.0.0.1:0", "grpc-go server's address")
	portFile := flag.String("port_file", "", "if set, write the grpcpy and grpc-go ports to this file, one a line, once serving")
	flag.Parse()

	// grpcpy: Greeter and reflection.
	server, err := grpc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(greeter{}, server); err != nil {
		log.Fatal(err)
	}
	if err := reflection.EnableServerReflection([]string{pb.GreeterServiceName, reflection.ServiceName}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*grpcpyAddr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}

	// grpc-go: health and reflection.
	lis, err := net.Listen("tcp", *grpcgoAddr)
	if err != nil {
		log.Fatal(err)
	}
	goServer := grpcgo.NewServer()
	healthpb.RegisterHealthServer(goServer, health.NewServer())
	goreflection.Register(goServer)
	go goServer.Serve(lis)

	goPort := lis.Addr().(*net.TCPAddr).Port
	log.Printf("both: grpcpy on port %d, grpc-go on port %d", port, goPort)
	if *portFile != "" {
		if err := os.WriteFile(*portFile, fmt.Appendf(nil, "%d\n%d\n", port, goPort), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	goServer.Stop()
	server.Stop(time.Second).Wait()
	log.Print("both: stopped")
}
