// Command lbbackend is one backend of the load-balancing tests (tests/lb):
// a grpcpy server, run as a process of its own so that a test can spread
// RPCs over several of them, SIGKILL one mid-load and restart it on the
// same port. It serves the raw-bytes service grpcpy.lb.Backend, built as
// a Python server builds a service without generated code:
//
//	handler = grpc.method_handlers_generic_handler('grpcpy.lb.Backend', {
//	    'Who': grpc.unary_unary_rpc_method_handler(who),
//	    'Slow': grpc.unary_unary_rpc_method_handler(slow),
//	    'Flaky': grpc.unary_unary_rpc_method_handler(flaky)})
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
//	server.add_generic_rpc_handlers((handler,))
//	server.add_insecure_port(addr)
//
// Methods (requests and responses are bytes, no serializers):
//   - /grpcpy.lb.Backend/Who answers with the backend's --name;
//   - /grpcpy.lb.Backend/Slow reads a Go duration from the request
//     ("300ms"), waits that long (or until the RPC ends) and answers with
//     the name;
//   - /grpcpy.lb.Backend/Flaky fails every other call it receives with
//     UNAVAILABLE ("flaky: call N"; the 1st, 3rd, ...) and answers the
//     others with the name: sequential RPCs with a retry policy of at
//     least 2 attempts all succeed, without one half of them fail.
//
// Flags follow the examples' convention: --addr (port 0: the kernel
// picks), --port_file (the bound port is written there once serving),
// and --name. SIGTERM or SIGINT stops it with a one-second grace; it then
// prints how many RPCs it answered.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

// Service is the full name of the service lbbackend serves.
const Service = "grpcpy.lb.Backend"

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	name := flag.String("name", "backend", "the name Who and Slow answer with")
	flag.Parse()
	log.SetPrefix("lbbackend " + *name + ": ")

	var answered atomic.Int64
	who := func(request any, context *grpc.ServicerContext) (any, error) {
		answered.Add(1)
		return []byte(*name), nil
	}
	slow := func(request any, context *grpc.ServicerContext) (any, error) {
		d, err := time.ParseDuration(string(request.([]byte)))
		if err != nil {
			context.Abort(grpc.StatusCodeInvalidArgument, fmt.Sprintf("request %q is not a duration", request))
		}
		select {
		case <-time.After(d):
		case <-context.Context().Done():
		}
		answered.Add(1)
		return []byte(*name), nil
	}

	var flakyCalls atomic.Int64
	flaky := func(request any, context *grpc.ServicerContext) (any, error) {
		if n := flakyCalls.Add(1); n%2 == 1 {
			context.Abort(grpc.StatusCodeUnavailable, fmt.Sprintf("flaky: call %d", n))
		}
		answered.Add(1)
		return []byte(*name), nil
	}

	pool := grpc.NewThreadPoolExecutor(32)
	server, err := grpc.NewServer(pool)
	if err != nil {
		log.Fatal(err)
	}
	handler := grpc.MethodHandlersGenericHandler(Service, map[string]*grpc.RpcMethodHandler{
		"Who":   grpc.UnaryUnaryRpcMethodHandler(who),
		"Slow":  grpc.UnaryUnaryRpcMethodHandler(slow),
		"Flaky": grpc.UnaryUnaryRpcMethodHandler(flaky),
	})
	if err := server.AddGenericRpcHandlers(handler); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("serving on %s (port %d)", *addr, port)
	if *portFile != "" {
		// Written to a temporary file and renamed, so a reader never sees
		// a partial port.
		tmp := *portFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(fmt.Sprint(port)), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *portFile); err != nil {
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
	log.Printf("stopped after answering %d RPCs", answered.Load())
}
