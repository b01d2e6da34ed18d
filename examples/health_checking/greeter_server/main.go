// Command greeter_server is grpc's health_checking greeter_server.py in
// Go: a Greeter server that also serves grpc.health.v1.Health, and a
// goroutine that toggles helloworld.Greeter between NOT_SERVING and
// SERVING every 5 seconds.
//
//	health_servicer = health.HealthServicer(                      servicer := health.NewHealthServicer(
//	    experimental_non_blocking=True,                                health.WithExperimentalNonBlocking(true),
//	    experimental_thread_pool=futures.ThreadPoolExecutor(10))       health.WithExperimentalThreadPool(grpc.NewThreadPoolExecutor(10)))
//	health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)  health.AddHealthServicerToServer(servicer, server)
//	health_servicer.set(service, next_status)                     servicer.Set(service, next)
//	threading.Thread(target=_toggle_health, ..., daemon=True)      go toggleHealth(servicer, "helloworld.Greeter")
//
// --delay_scale scales the 5 seconds (the suite runs it at 0.1).
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
	"github.com/grpcpy/grpcpy/grpc/health"
)

var delayScale = flag.Float64("delay_scale", 1, "scale of the 5 seconds between health toggles")

// greeter answers with the name it was given, as the original's does.
type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: request.GetName()}, nil
}

// toggleHealth flips service between NOT_SERVING and SERVING, starting
// with NOT_SERVING, every 5 seconds (scaled).
func toggleHealth(servicer *health.HealthServicer, service string) {
	next := health.HealthCheckResponseServing
	for {
		if next == health.HealthCheckResponseServing {
			next = health.HealthCheckResponseNotServing
		} else {
			next = health.HealthCheckResponseServing
		}
		servicer.Set(service, next)
		time.Sleep(time.Duration(5 * *delayScale * float64(time.Second)))
	}
}

func configureHealthServer(server *grpc.Server) (*health.HealthServicer, error) {
	servicer := health.NewHealthServicer(
		health.WithExperimentalNonBlocking(true),
		health.WithExperimentalThreadPool(grpc.NewThreadPoolExecutor(10)),
	)
	if err := health.AddHealthServicerToServer(servicer, server); err != nil {
		return nil, err
	}
	// A daemon thread in Python: the goroutine ends with the program.
	go toggleHealth(servicer, "helloworld.Greeter")
	return servicer, nil
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
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	servicer, err := configureHealthServer(server)
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
		// Not in the original: what enter_graceful_shutdown is for. Every
		// service reads NOT_SERVING (and the toggling stops) before the
		// server stops.
		servicer.EnterGracefulShutdown()
		server.Stop(time.Second)
	}()
	server.WaitForTermination()
	pool.Shutdown(true)
}
