// Command greeter_server is grpc's examples/python/keep_alive/
// greeter_server.py in Go: a Greeter whose server sets the keepalive and
// connection-management channel options.
//
//	server_options = [                                         serverOptions := []grpc.ChannelOption{
//	    ("grpc.keepalive_time_ms", 20000),                         grpc.Option("grpc.keepalive_time_ms", 20000),
//	    ("grpc.keepalive_timeout_ms", 10000),                      grpc.Option("grpc.keepalive_timeout_ms", 10000),
//	    ("grpc.http2.min_ping_interval_without_data_ms", 5000),    ...
//	    ("grpc.max_connection_idle_ms", 10000),
//	    ("grpc.max_connection_age_ms", 30000),
//	    ("grpc.max_connection_age_grace_ms", 5000),
//	    ("grpc.http2.max_pings_without_data", 5),
//	    ("grpc.keepalive_permit_without_calls", 1),
//	]                                                          }
//	server = grpc.server(thread_pool=futures.ThreadPoolExecutor(max_workers=10), options=server_options)
//	                                                           server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(10), grpc.WithOptions(serverOptions...))
//	if message.startswith("[delay]"): sleep(5)                 if strings.HasPrefix(message, "[delay]") { time.Sleep(5 * time.Second) }
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

type greeter struct {
	pb.UnimplementedGreeterServicer
}

// SayHello echoes the name; a name starting with "[delay]" is answered
// five seconds later (an RPC in flight: the connection is not idle).
func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	message := request.GetName()
	if strings.HasPrefix(message, "[delay]") {
		time.Sleep(5 * time.Second)
	}
	return &pb.HelloReply{Message: message}, nil
}

func main() {
	addr := flag.String("addr", "[::]:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()

	// grpc.keepalive_time_ms: how long (ms) the transport waits before
	//   pinging the peer.
	// grpc.keepalive_timeout_ms: how long (ms) the pinger waits for the
	//   acknowledgement before closing the connection.
	// grpc.http2.min_ping_interval_without_data_ms: the shortest interval
	//   (ms) between pings the server accepts while it sends no data or
	//   header frame.
	// grpc.max_connection_idle_ms: how long (ms) a connection may have no
	//   RPC in flight before the server closes it (GOAWAY).
	// grpc.max_connection_age_ms: how long (ms) a connection may live.
	// grpc.max_connection_age_grace_ms: the grace (ms) given to RPCs in
	//   flight when a connection reaches its maximum age.
	// grpc.http2.max_pings_without_data: how many pings may be sent before
	//   a data or header frame must be.
	// grpc.keepalive_permit_without_calls: 1 allows keepalive pings with no
	//   RPC in flight.
	// See https://github.com/grpc/grpc/blob/master/doc/keepalive.md.
	serverOptions := []grpc.ChannelOption{
		grpc.Option("grpc.keepalive_time_ms", 20000),
		grpc.Option("grpc.keepalive_timeout_ms", 10000),
		grpc.Option("grpc.http2.min_ping_interval_without_data_ms", 5000),
		grpc.Option("grpc.max_connection_idle_ms", 10000),
		grpc.Option("grpc.max_connection_age_ms", 30000),
		grpc.Option("grpc.max_connection_age_grace_ms", 5000),
		grpc.Option("grpc.http2.max_pings_without_data", 5),
		grpc.Option("grpc.keepalive_permit_without_calls", 1),
	}
	pool := grpc.NewThreadPoolExecutor(10)
	server, err := grpc.NewServer(pool, grpc.WithOptions(serverOptions...))
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
	fmt.Printf("Server started, listening on %d\n", port)
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
