// Command greeter_server is grpc's examples/python/uds/greeter_server.py
// in Go: a Greeter served on Unix domain sockets only, named through
// gRPC's name resolution (unix:path, unix://absolute_path and, on Linux,
// unix-abstract:name).
//
//	uds_addresses = ["unix:helloworld.sock", "unix:///tmp/helloworld.sock"]
//	                                                   addresses := strings.Split(*addr, ",")   // the same two, and unix-abstract:grpcpy_helloworld
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
//	                                                   server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10))
//	for uds_address in uds_addresses:                  for _, udsAddress := range addresses {
//	    server.add_insecure_port(uds_address)              server.AddInsecurePort(udsAddress)
//	    logging.info("Server listening on: %s", uds_address)
//	                                                       info.Printf("Server listening on: %s", udsAddress)
//	HelloReply(message=f"Hello to {context.peer()}!")  &pb.HelloReply{Message: fmt.Sprintf("Hello to %s!", context.Peer())}
//
// --addr is a comma-separated list of addresses. The port the core reports
// for a Unix socket (1) is what --port_file receives.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// logging.info(...) with logging.basicConfig(level=logging.INFO).
var info = log.New(os.Stderr, "INFO:root:", 0)

type greeter struct {
	pb.UnimplementedGreeterServicer
}

// SayHello answers with the peer's address, a "unix:" one here.
func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: fmt.Sprintf("Hello to %s!", context.Peer())}, nil
}

func main() {
	addr := flag.String("addr", "unix:helloworld.sock,unix:///tmp/helloworld.sock,unix-abstract:grpcpy_helloworld",
		"comma-separated addresses to listen on")
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
	port := 0
	for _, udsAddress := range strings.Split(*addr, ",") {
		if port, err = server.AddInsecurePort(udsAddress); err != nil {
			log.Fatal(err)
		}
		info.Printf("Server listening on: %s", udsAddress)
	}
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
	pool.Shutdown(true)
}
