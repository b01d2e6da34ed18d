// Command greeter_server is grpc's helloworld greeter_server.py, line for
// line in Go:
//
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
//	helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
//	server.add_insecure_port('[::]:50051')
//	server.start()
//	server.wait_for_termination()
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
type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "address to listen on (port 0: the kernel picks)")
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
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("greeter_server: serving on port %d", port)
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
	log.Print("greeter_server: stopped")
}
