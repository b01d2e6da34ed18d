// Command server is grpc's examples/python/cancellation/server.py in Go: a
// HashFinder whose handlers stop working as soon as their RPC ends, on a
// server with a single worker, so a cancelled RPC gives its worker back.
//
// Python:
//
//	stop_event = threading.Event()
//	def on_rpc_done():
//	    stop_event.set()
//	context.add_callback(on_rpc_done)
//	try:
//	    for candidate in secret_generator:
//	        yield candidate
//	except search.ResourceLimitExceededError:
//	    context.cancel()
//	...
//	server = grpc.server(futures.ThreadPoolExecutor(max_workers=1),
//	                     maximum_concurrent_rpcs=1)
//
// Go:
//
//	stopEvent := newEvent()
//	context.AddCallback(func() { stopEvent.set() })
//	for candidate, err := range search(..., stopEvent.done, ...) {
//	    if errors.As(err, new(ResourceLimitExceededError)) {
//	        context.Cancel()
//	        break
//	    }
//	    if !yield(candidate, err) || err != nil { return }
//	}
//	...
//	server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(1),
//	    grpc.WithMaximumConcurrentRpcs(1))
//
// Flags: --addr (default localhost:50051, the original's
// 'localhost:%d' % --port), --port_file (written once serving) and the
// original's --maximum-hashes. SIGINT or SIGTERM stops it. The search
// itself (search.py) is search.go.
package main

import (
	"errors"
	"flag"
	"fmt"
	"iter"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/cancellation/hash_name"
	"github.com/grpcpy/grpcpy/grpc"
)

// event is the threading.Event the handlers pass down to the search.
type event struct {
	once sync.Once
	done chan struct{}
}

func newEvent() *event { return &event{done: make(chan struct{})} }

func (e *event) set() { e.once.Do(func() { close(e.done) }) }

// hashFinder implements hash_name.HashFinder.
type hashFinder struct {
	maximumHashes int
}

// onRpcDone makes an event that is set when the RPC of context ends
// (completed, cancelled by the client, or past its deadline).
func onRpcDone(context *grpc.ServicerContext) *event {
	stopEvent := newEvent()
	context.AddCallback(func() {
		slog.Debug("Attempting to regain servicer thread.")
		stopEvent.set()
	})
	return stopEvent
}

func (h hashFinder) Find(request *pb.HashNameRequest, context *grpc.ServicerContext) (*pb.HashNameResponse, error) {
	stopEvent := onRpcDone(context)
	var candidates []*pb.HashNameResponse
	for candidate, err := range search(request.GetDesiredName(), request.GetIdealHammingDistance(),
		stopEvent.done, h.maximumHashes, nil) {
		if errors.As(err, new(ResourceLimitExceededError)) {
			slog.Info("Cancelling RPC due to exhausted resources.")
			context.Cancel()
			candidates = nil // as list(...) that raised: nothing was kept
			break
		}
		if err != nil {
			return nil, err
		}
		candidates = append(candidates, candidate)
	}
	slog.Debug("Servicer thread returning.")
	if len(candidates) == 0 {
		return &pb.HashNameResponse{}, nil
	}
	return candidates[len(candidates)-1], nil
}

func (h hashFinder) FindRange(request *pb.HashNameRequest, context *grpc.ServicerContext) iter.Seq2[*pb.HashNameResponse, error] {
	return func(yield func(*pb.HashNameResponse, error) bool) {
		stopEvent := onRpcDone(context)
		interesting := request.GetInterestingHammingDistance()
		secretGenerator := search(request.GetDesiredName(), request.GetIdealHammingDistance(),
			stopEvent.done, h.maximumHashes, &interesting)
		for candidate, err := range secretGenerator {
			if errors.As(err, new(ResourceLimitExceededError)) {
				slog.Info("Cancelling RPC due to exhausted resources.")
				context.Cancel()
				break
			}
			if !yield(candidate, err) || err != nil {
				return
			}
		}
		slog.Debug("Regained servicer thread.")
	}
}

// runningServer is the original's _running_server: one worker, one RPC at
// a time.
func runningServer(address string, maximumHashes int) (*grpc.Server, *grpc.ThreadPoolExecutor, int) {
	// A single worker shows that a cancelled RPC, handled with care, does
	// not keep holding it.
	pool := grpc.NewThreadPoolExecutor(1)
	server, err := grpc.NewServer(pool, grpc.WithMaximumConcurrentRpcs(1))
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddHashFinderServicerToServer(hashFinder{maximumHashes}, server); err != nil {
		log.Fatal(err)
	}
	port, err := server.AddInsecurePort(address)
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Server listening at '%s'\n", address)
	return server, pool, port
}

func main() {
	addr := flag.String("addr", "localhost:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	maximumHashes := flag.Int("maximum-hashes", 1000000, "The maximum number of hashes to search before cancelling.")
	flag.Parse()

	server, pool, port := runningServer(*addr, *maximumHashes)
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
