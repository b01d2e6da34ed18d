// Command flaky_server is grpc's examples/python/retry/flaky_server.py in
// Go: a Greeter that fails three RPCs in four with UNAVAILABLE, but never
// a peer's fifth attempt, so a client whose retry policy allows five
// attempts always gets through.
//
//	self._counter[context.peer()] += 1                  s.counter[context.Peer()]++
//	if self._counter[context.peer()] < 5:               if count < 5 {
//	    if random.random() < 0.75:                          if rand.Float64() < 0.75 {
//	        await context.abort(grpc.StatusCode.UNAVAILABLE, "injected error")
//	                                                            context.Abort(grpc.StatusCodeUnavailable, "injected error")
//	server = grpc.aio.server()                          server, err := grpc.NewServer(grpc.NewThreadPoolExecutor())
//	server.add_insecure_port(listen_addr)               server.AddInsecurePort(*addr)   // "[::]:50051"
//	await server.start()                                server.Start()
//	await server.wait_for_termination()                 server.WaitForTermination()
//
// The original is a grpc.aio server; grpcpy has grpcio's synchronous API,
// so handlers run on the thread pool and the counter takes a mutex.
// Log lines are printed as Python's logging.basicConfig prints them.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// logging.info(...) with logging.basicConfig(level=logging.INFO).
var info = log.New(os.Stderr, "INFO:root:", 0)

// errorInjectingGreeter counts the attempts of each peer (a connection).
type errorInjectingGreeter struct {
	pb.UnimplementedGreeterServicer
	mu      sync.Mutex
	counter map[string]int
}

func (s *errorInjectingGreeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	s.mu.Lock()
	s.counter[context.Peer()]++
	count := s.counter[context.Peer()]
	s.mu.Unlock()
	if count < 5 {
		if rand.Float64() < 0.75 {
			info.Printf("Injecting error to RPC from %s", context.Peer())
			context.Abort(grpc.StatusCodeUnavailable, "injected error")
		}
	}
	info.Printf("Successfully responding to RPC from %s", context.Peer())
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

func main() {
	addr := flag.String("addr", "[::]:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()

	pool := grpc.NewThreadPoolExecutor()
	server, err := grpc.NewServer(pool)
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(&errorInjectingGreeter{counter: map[string]int{}}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	info.Printf("Starting flaky server on %s", *addr)
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
