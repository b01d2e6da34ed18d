// Command server is grpc's examples/python/compression/server.py in Go: a
// greeter whose responses are compressed with the server's default
// algorithm, except every nth one, which a handler sends plain.
//
//	_COMPRESSION_OPTIONS = {"none": grpc.Compression.NoCompression,     compressionOptions = map[string]grpc.Compression{"none": grpc.CompressionNoCompression,
//	    "deflate": grpc.Compression.Deflate,                                "deflate": grpc.CompressionDeflate,
//	    "gzip": grpc.Compression.Gzip}                                      "gzip": grpc.CompressionGzip}
//	with self._counter_lock: ...                                         g.counterLock.Lock() ...
//	if self._should_suppress_compression():                              if g.shouldSuppressCompression() {
//	    context.set_compression(grpc.Compression.NoCompression)              context.SetCompression(grpc.CompressionNoCompression)
//	return helloworld_pb2.HelloReply(message="Hello, %s!" % request.name)   return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
//	server = grpc.server(futures.ThreadPoolExecutor(),                   server, err := grpc.NewServer(grpc.NewThreadPoolExecutor(),
//	    compression=server_compression,                                      grpc.WithServerCompression(serverCompression),
//	    options=(("grpc.so_reuseport", 1),))                                 grpc.WithOptions(grpc.Option("grpc.so_reuseport", 1)))
//	print("Server listening at '{}'".format(address))                    fmt.Printf("Server listening at '%s'\n", address)
//
// Flags: the original's --server_compression (none, deflate or gzip;
// default none) and --no_compress_every_n (default 0: never), --addr
// (default localhost:50051, the original's "localhost:%d" % --port) and
// --port_file (written once serving). SIGINT or SIGTERM stops it.
//
// grpcpy honours SetCompression(grpc.CompressionNoCompression): the reply
// goes plain. grpcio 1.51 ignores set_compression(NoCompression) (it reads
// member 0 as "not set"), so python/server.py also calls
// disable_next_message_compression(), whose Go twin is
// context.DisableNextMessageCompression().
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
)

var compressionOptions = map[string]grpc.Compression{
	"none":    grpc.CompressionNoCompression,
	"deflate": grpc.CompressionDeflate,
	"gzip":    grpc.CompressionGzip,
}

// greeter implements helloworld.Greeter, counting its requests.
type greeter struct {
	noCompressEveryN int
	counterLock      sync.Mutex
	requestCounter   int
}

// shouldSuppressCompression is true for the 1st, (n+1)th, (2n+1)th ...
// request when every_n is set.
func (g *greeter) shouldSuppressCompression() bool {
	g.counterLock.Lock()
	defer g.counterLock.Unlock()
	suppress := g.noCompressEveryN != 0 && g.requestCounter%g.noCompressEveryN == 0
	g.requestCounter++
	return suppress
}

func (g *greeter) SayHello(request *pb.HelloRequest, context *grpc.ServicerContext) (*pb.HelloReply, error) {
	if g.shouldSuppressCompression() {
		// This RPC's response goes uncompressed, whatever the server's default.
		if err := context.SetCompression(grpc.CompressionNoCompression); err != nil {
			return nil, err
		}
	}
	return &pb.HelloReply{Message: fmt.Sprintf("Hello, %s!", request.GetName())}, nil
}

func runServer(serverCompression grpc.Compression, noCompressEveryN int, address, portFile string) {
	pool := grpc.NewThreadPoolExecutor()
	server, err := grpc.NewServer(pool,
		grpc.WithServerCompression(serverCompression),
		grpc.WithOptions(grpc.Option("grpc.so_reuseport", 1)))
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddGreeterServicerToServer(&greeter{noCompressEveryN: noCompressEveryN}, server); err != nil {
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
	if portFile != "" {
		if err := os.WriteFile(portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
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

func main() {
	serverCompression := flag.String("server_compression", "none", "The default compression method for the server (none, deflate or gzip).")
	noCompressEveryN := flag.Int("no_compress_every_n", 0, "If set, every nth reply will be uncompressed.")
	addr := flag.String("addr", "localhost:50051", "address to listen on (port 0: the kernel picks)")
	portFile := flag.String("port_file", "", "if set, write the bound port to this file once serving")
	flag.Parse()
	compression, ok := compressionOptions[*serverCompression]
	if !ok {
		log.Fatalf("--server_compression: invalid choice %q (choose from none, deflate, gzip)", *serverCompression)
	}
	runServer(compression, *noCompressEveryN, *addr, *portFile)
}
