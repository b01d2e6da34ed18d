// Command wait_for_ready_example is grpc's
// examples/python/wait_for_ready/wait_for_ready_example.py in Go. Two
// RPCs are started before any server listens on the channel's address: a
// fail-fast one, which fails with UNAVAILABLE once the channel enters
// TRANSIENT_FAILURE, and one with wait_for_ready, which waits. Then the
// server starts, and the waiting RPC is answered.
//
// Python:
//
//	channel = grpc.insecure_channel(server_address)
//	channel.subscribe(wait_for_transient_failure)
//	stub = helloworld_pb2_grpc.GreeterStub(channel)
//	threading.Thread(target=process, args=(stub, False)).start()
//	threading.Thread(target=process, args=(stub, True)).start()
//	transient_failure_event.wait()
//	server = create_server(server_address)
//	server.start()
//	...
//	response = stub.SayHello(helloworld_pb2.HelloRequest(name='you'),
//	                         wait_for_ready=wait_for_ready)
//
// Go:
//
//	channel, err := grpc.InsecureChannel(serverAddress)
//	channel.Subscribe(waitForTransientFailure, false)
//	stub := pb.NewGreeterStub(channel)
//	go process(stub, false)
//	go process(stub, true)
//	<-transientFailure
//	server, _ := createServer(serverAddress)
//	server.Start()
//	...
//	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"},
//	    grpc.WithWaitForReady(waitForReady))
//
// With no flags it runs both halves in one process, as the original does.
// To run the halves in different processes (or languages), --target runs
// the client half only: it starts the two RPCs at that address, prints
// "Waiting for a server at <target>" once the channel is in
// TRANSIENT_FAILURE, and waits for someone to start one there. --addr
// (with --port_file) runs the server half only, until SIGINT or SIGTERM.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

// getFreeLoopbackTCPPort picks a port nothing listens on: the kernel
// chooses it for a listener that is closed at once, so connecting to it is
// refused until the server binds it.
func getFreeLoopbackTCPPort() string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

// greeter implements helloworld.Greeter.
type greeter struct{}

func (greeter) SayHello(request *pb.HelloRequest, _ *grpc.ServicerContext) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

func createServer(serverAddress string) (*grpc.Server, int) {
	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor())
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(greeter{}, server); err != nil {
		log.Fatal(err)
	}
	boundPort, err := server.AddInsecurePort(serverAddress)
	if err != nil {
		log.Fatal(err)
	}
	if _, port, _ := net.SplitHostPort(serverAddress); port != "0" && port != strconv.Itoa(boundPort) {
		log.Fatalf("bound port %d, asked for %s", boundPort, serverAddress)
	}
	return server, boundPort
}

// process makes one RPC and logs what it got: a reply with wait_for_ready,
// UNAVAILABLE without (the original's asserts, fatal here).
func process(stub *pb.GreeterStub, waitForReady bool) {
	var message any
	response, err := stub.SayHello.Call(&pb.HelloRequest{Name: "you"}, grpc.WithWaitForReady(waitForReady))
	var rpcError *grpc.RpcError
	switch {
	case errors.As(err, &rpcError):
		if rpcError.Code() != grpc.StatusCodeUnavailable || waitForReady {
			log.Fatalf("wait_for_ready=%v: %v, want UNAVAILABLE and only without wait_for_ready", waitForReady, err)
		}
		message = rpcError
	case err != nil:
		log.Fatal(err)
	default:
		if !waitForReady {
			log.Fatalf("wait_for_ready=false: answered %q before the server was up", response.GetMessage())
		}
		message = response.GetMessage()
	}
	enabled := "disabled"
	if waitForReady {
		enabled = "enabled"
	}
	slog.Info(fmt.Sprintf("Wait-for-ready %s, client received: %v", enabled, message))
}

func main() {
	target := flag.String("target", "", "run the client half only, against this address (default: both halves, a free port)")
	addr := flag.String("addr", "", "run the server half only, on this address")
	portFile := flag.String("port_file", "", "with --addr: write the bound port to this file once serving")
	flag.Parse()
	if *addr != "" {
		serveOnly(*addr, *portFile)
		return
	}

	// Pick a random free port
	serverAddress := *target
	if serverAddress == "" {
		serverAddress = getFreeLoopbackTCPPort()
	}

	// Register connectivity event to notify main goroutine
	transientFailure := make(chan struct{})
	var once sync.Once
	waitForTransientFailure := func(channelConnectivity grpc.ChannelConnectivity) {
		if channelConnectivity == grpc.ChannelConnectivityTransientFailure {
			once.Do(func() { close(transientFailure) })
		}
	}

	// Create gRPC channel
	channel, err := grpc.InsecureChannel(serverAddress)
	if err != nil {
		log.Fatal(err)
	}
	channel.Subscribe(waitForTransientFailure, false)
	stub := pb.NewGreeterStub(channel)

	var disabled, enabled sync.WaitGroup
	// Fire an RPC without wait_for_ready
	disabled.Add(1)
	go func() { defer disabled.Done(); process(stub, false) }()
	// Fire an RPC with wait_for_ready
	enabled.Add(1)
	go func() { defer enabled.Done(); process(stub, true) }()

	// Wait for the channel entering TRANSIENT FAILURE state.
	<-transientFailure
	var server *grpc.Server
	if *target == "" {
		server, _ = createServer(serverAddress)
		if err := server.Start(); err != nil {
			log.Fatal(err)
		}
	} else {
		fmt.Printf("Waiting for a server at %s\n", serverAddress)
	}

	// Expected to fail with StatusCode.UNAVAILABLE.
	disabled.Wait()
	// Expected to succeed.
	enabled.Wait()

	if server != nil {
		server.Stop(grpc.NoGrace)
	}
	channel.Close()
}

// serveOnly is the server half on its own: the greeter on addr until
// SIGINT or SIGTERM.
func serveOnly(addr, portFile string) {
	server, port := createServer(addr)
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	if portFile != "" {
		if err := os.WriteFile(portFile, []byte(strconv.Itoa(port)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		server.Stop(grpc.NoGrace)
	}()
	server.WaitForTermination()
}
