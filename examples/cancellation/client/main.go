// Command client is grpc's examples/python/cancellation/client.py in Go: it
// asks the HashFinder for a hash resembling a name and, on Ctrl-C,
// cancels the RPC before exiting, so the server stops searching for it.
//
// Python:
//
//	future = stub.Find.future(hash_name_pb2.HashNameRequest(...), wait_for_ready=True)
//	def cancel_request(unused_signum, unused_frame):
//	    future.cancel()
//	    sys.exit(0)
//	signal.signal(signal.SIGINT, cancel_request)
//	result = future.result()
//	...
//	result_generator = stub.FindRange(hash_name_pb2.HashNameRequest(...), wait_for_ready=True)
//	def cancel_request(unused_signum, unused_frame):
//	    result_generator.cancel()
//	    sys.exit(0)
//	for result in result_generator:
//	    print(result)
//
// Go:
//
//	future, err := stub.Find.Future(&pb.HashNameRequest{...}, grpc.WithWaitForReady(true))
//	cancelled := onSIGINT(func() { future.Cancel() })
//	result, err := future.Result()
//	if cancelled.Load() { return } // sys.exit(0)
//	...
//	resultGenerator, err := stub.FindRange.Call(&pb.HashNameRequest{...}, grpc.WithWaitForReady(true))
//	cancelled := onSIGINT(func() { resultGenerator.Cancel() })
//	for result, err := range resultGenerator.All() {
//	    if cancelled.Load() { return } // sys.exit(0)
//	    fmt.Println(str(result))
//	}
//
// Usage: client [--target=localhost:50051] [--ideal-distance=N] [--show-inferior=N] NAME
// (--server is the original's name for --target; flags may follow NAME,
// as argparse allows).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"

	pb "github.com/grpcpy/grpcpy/examples/cancellation/hash_name"
	"github.com/grpcpy/grpcpy/grpc"
)

// str prints a HashNameResponse as Python's str() of the message does
// (the protobuf text format: set fields only, one per line).
func str(r *pb.HashNameResponse) string {
	var b strings.Builder
	if r.GetSecret() != "" {
		fmt.Fprintf(&b, "secret: %s\n", strconv.Quote(r.GetSecret()))
	}
	if r.GetHashedName() != "" {
		fmt.Fprintf(&b, "hashed_name: %s\n", strconv.Quote(r.GetHashedName()))
	}
	if r.GetHammingDistance() != 0 {
		fmt.Fprintf(&b, "hamming_distance: %d\n", r.GetHammingDistance())
	}
	return b.String()
}

// onSIGINT calls cancelRequest on Ctrl-C, having first set the flag it
// returns. The original's handler cancels and calls sys.exit(0); here the
// RPC's own goroutine sees the cancellation, checks the flag and returns,
// so the channel is closed and the exit status is 0 as there.
func onSIGINT(cancelRequest func()) *atomic.Bool {
	var cancelled atomic.Bool
	sigint := make(chan os.Signal, 1)
	signal.Notify(sigint, os.Interrupt)
	go func() {
		<-sigint
		cancelled.Store(true)
		cancelRequest()
	}()
	return &cancelled
}

func runUnaryClient(serverTarget, name string, idealDistance int32) {
	channel, err := grpc.InsecureChannel(serverTarget)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewHashFinderStub(channel)
	future, err := stub.Find.Future(&pb.HashNameRequest{
		DesiredName:          name,
		IdealHammingDistance: idealDistance,
	}, grpc.WithWaitForReady(true))
	if err != nil {
		log.Fatal(err)
	}
	cancelled := onSIGINT(func() { future.Cancel() })
	result, err := future.Result()
	if cancelled.Load() {
		return // sys.exit(0)
	}
	if err != nil {
		log.Fatal(err) // the traceback of the RpcError that result() raises
	}
	fmt.Println(str(result))
}

func runStreamingClient(serverTarget, name string, idealDistance, interestingDistance int32) {
	channel, err := grpc.InsecureChannel(serverTarget)
	if err != nil {
		log.Fatal(err)
	}
	defer channel.Close()
	stub := pb.NewHashFinderStub(channel)
	resultGenerator, err := stub.FindRange.Call(&pb.HashNameRequest{
		DesiredName:                name,
		IdealHammingDistance:       idealDistance,
		InterestingHammingDistance: interestingDistance,
	}, grpc.WithWaitForReady(true))
	if err != nil {
		log.Fatal(err)
	}
	cancelled := onSIGINT(func() { resultGenerator.Cancel() })
	for result, err := range resultGenerator.All() {
		if cancelled.Load() {
			return // sys.exit(0)
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(str(result))
	}
}

func main() {
	var target string
	flag.StringVar(&target, "target", "localhost:50051", "The host-port pair at which to reach the server.")
	flag.StringVar(&target, "server", "localhost:50051", "The same as --target (the original's name).")
	idealDistance := flag.Int("ideal-distance", 0, "The desired Hamming distance.")
	showInferior := flag.Int("show-inferior", 0, "Also show candidates with a Hamming distance less than this value.")
	flag.Parse()
	// The name is positional; argparse lets flags come after it.
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "client: the desired name is required")
		flag.Usage()
		os.Exit(2)
	}
	name := flag.Arg(0)
	if err := flag.CommandLine.Parse(flag.Args()[1:]); err != nil || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	inferiorSet := false // argparse's default=None
	flag.Visit(func(f *flag.Flag) { inferiorSet = inferiorSet || f.Name == "show-inferior" })

	if inferiorSet {
		runStreamingClient(target, name, int32(*idealDistance), int32(*showInferior))
	} else {
		runUnaryClient(target, name, int32(*idealDistance))
	}
}
