// Command server is grpc's examples/python/data_transmission/server.py in
// Go: one servicer with a method of each of the four RPC shapes.
//
//	class DemoServer(demo_pb2_grpc.GRPCDemoServicer):     type demoServer struct{ pb.UnimplementedGRPCDemoServicer }
//	    def SimpleMethod(self, request, context):         func (demoServer) SimpleMethod(request *pb.Request, context *grpc.ServicerContext) (*pb.Response, error)
//	    def ClientStreamingMethod(self, request_iterator, context):
//	        for request in request_iterator:              for request, err := range requests {
//	    def ServerStreamingMethod(self, request, context):
//	        def response_messages(): ... yield response   return func(yield func(*pb.Response, error) bool) { ... }
//	    def BidirectionalStreamingMethod(self, request_iterator, context):
//	        t = Thread(target=parse_request); t.start()   go func() { for request, err := range requests { ... } }()
//	        for i in range(5): yield demo_pb2.Response(...)
//	        t.join()                                      <-done
//	server = grpc.server(futures.ThreadPoolExecutor())   grpc.NewServer(grpc.NewThreadPoolExecutor())
//	demo_pb2_grpc.add_GRPCDemoServicer_to_server(DemoServer(), server)
//	                                                      pb.AddGRPCDemoServicerToServer(demoServer{}, server)
//	server.add_insecure_port(SERVER_ADDRESS)              server.AddInsecurePort(*addr)   // "localhost:23333"
//	server.start(); server.wait_for_termination()         server.Start(); server.WaitForTermination()
//
// The replies say "Go server" where the Python ones say "Python server", so
// a client shows which one answered.
package main

import (
	"flag"
	"fmt"
	"iter"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/data_transmission/demo"
	"github.com/grpcpy/grpcpy/grpc"
)

const serverID = 1

type demoServer struct {
	pb.UnimplementedGRPCDemoServicer
}

// SimpleMethod is unary-unary: in a single call the client sends one
// request and the server answers once.
func (demoServer) SimpleMethod(request *pb.Request, context *grpc.ServicerContext) (*pb.Response, error) {
	fmt.Printf("SimpleMethod called by client(%d) the message: %s\n", request.GetClientId(), request.GetRequestData())
	return &pb.Response{ServerId: serverID, ResponseData: "Go server SimpleMethod Ok!!!!"}, nil
}

// ClientStreamingMethod is stream-unary: the client sends any number of
// requests, the server answers once.
func (demoServer) ClientStreamingMethod(requests iter.Seq2[*pb.Request, error], context *grpc.ServicerContext) (*pb.Response, error) {
	fmt.Println("ClientStreamingMethod called by client...")
	for request, err := range requests {
		if err != nil {
			return nil, err
		}
		fmt.Printf("recv from client(%d), message= %s\n", request.GetClientId(), request.GetRequestData())
	}
	return &pb.Response{ServerId: serverID, ResponseData: "Go server ClientStreamingMethod ok"}, nil
}

// ServerStreamingMethod is unary-stream: one request, the server answers
// any number of times (the Python generator becomes an iterator func).
func (demoServer) ServerStreamingMethod(request *pb.Request, context *grpc.ServicerContext) iter.Seq2[*pb.Response, error] {
	fmt.Printf("ServerStreamingMethod called by client(%d), message= %s\n", request.GetClientId(), request.GetRequestData())
	return func(yield func(*pb.Response, error) bool) {
		for i := range 5 {
			if !yield(&pb.Response{ServerId: serverID, ResponseData: fmt.Sprintf("send by Go server, message=%d", i)}, nil) {
				return
			}
		}
	}
}

// BidirectionalStreamingMethod is stream-stream: both sides send any number
// of messages in one call. As in the Python original, the requests are read
// on a goroutine of their own (its thread) while the responses are sent.
func (demoServer) BidirectionalStreamingMethod(requests iter.Seq2[*pb.Request, error], context *grpc.ServicerContext) iter.Seq2[*pb.Response, error] {
	fmt.Println("BidirectionalStreamingMethod called by client...")
	return func(yield func(*pb.Response, error) bool) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for request, err := range requests {
				if err != nil {
					return
				}
				fmt.Printf("recv from client(%d), message= %s\n", request.GetClientId(), request.GetRequestData())
			}
		}()
		for i := range 5 {
			if !yield(&pb.Response{ServerId: serverID, ResponseData: fmt.Sprintf("send by Go server, message= %d", i)}, nil) {
				break
			}
		}
		<-done // t.join()
	}
}

func main() {
	addr := flag.String("addr", "localhost:23333", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()

	pool := grpc.NewThreadPoolExecutor()
	server, err := grpc.NewServer(pool)
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGRPCDemoServicerToServer(demoServer{}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("------------------start Go GRPC server")
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
