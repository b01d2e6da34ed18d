// Command interop_server is the official gRPC interop test server
// (grpc.testing.TestService), written with grpcpy's public API only.
//
//	interop_server --port=10000 [--use_tls --tls_cert_file=F --tls_key_file=F]
//
// It leaves UnimplementedCall and UnimplementedService unimplemented, as
// the unimplemented_* cases expect.
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

	"github.com/grpcpy/grpcpy/grpc"
	pb "github.com/grpcpy/grpcpy/interop/grpc_testing"
)

const (
	echoInitialKey  = "x-grpc-test-echo-initial"
	echoTrailingKey = "x-grpc-test-echo-trailing-bin"
)

type testService struct {
	pb.UnimplementedTestServiceServicer
}

// echoMetadata sends back the test's echo headers: the initial one at
// once, the trailing one with the status.
func echoMetadata(ctx *grpc.ServicerContext) {
	md := ctx.InvocationMetadata()
	if v := md.Get(echoInitialKey); len(v) > 0 {
		ctx.SendInitialMetadata(grpc.Pairs(echoInitialKey, v[0]))
	}
	if v := md.Get(echoTrailingKey); len(v) > 0 {
		ctx.SetTrailingMetadata(grpc.Pairs(echoTrailingKey, v[0]))
	}
}

// applyStatus aborts with the status the request asked for, if any.
func applyStatus(ctx *grpc.ServicerContext, s *pb.EchoStatus) {
	if s != nil && s.GetCode() != 0 {
		ctx.Abort(grpc.StatusCode(s.GetCode()), s.GetMessage())
	}
}

func payload(size int32) *pb.Payload {
	return &pb.Payload{Type: pb.PayloadType_COMPRESSABLE, Body: make([]byte, size)}
}

func (testService) EmptyCall(_ *pb.Empty, ctx *grpc.ServicerContext) (*pb.Empty, error) {
	echoMetadata(ctx)
	return &pb.Empty{}, nil
}

func (testService) UnaryCall(r *pb.SimpleRequest, ctx *grpc.ServicerContext) (*pb.SimpleResponse, error) {
	echoMetadata(ctx)
	applyStatus(ctx, r.GetResponseStatus())
	return &pb.SimpleResponse{Payload: payload(r.GetResponseSize())}, nil
}

func (s testService) CacheableUnaryCall(r *pb.SimpleRequest, ctx *grpc.ServicerContext) (*pb.SimpleResponse, error) {
	return s.UnaryCall(r, ctx)
}

func (testService) StreamingOutputCall(r *pb.StreamingOutputCallRequest, ctx *grpc.ServicerContext) iter.Seq2[*pb.StreamingOutputCallResponse, error] {
	echoMetadata(ctx)
	return func(yield func(*pb.StreamingOutputCallResponse, error) bool) {
		for _, p := range r.GetResponseParameters() {
			if us := p.GetIntervalUs(); us > 0 {
				time.Sleep(time.Duration(us) * time.Microsecond)
			}
			if !yield(&pb.StreamingOutputCallResponse{Payload: payload(p.GetSize())}, nil) {
				return
			}
		}
		applyStatus(ctx, r.GetResponseStatus())
	}
}

func (testService) StreamingInputCall(reqs iter.Seq2[*pb.StreamingInputCallRequest, error], ctx *grpc.ServicerContext) (*pb.StreamingInputCallResponse, error) {
	var total int32
	for r, err := range reqs {
		if err != nil {
			return nil, err
		}
		total += int32(len(r.GetPayload().GetBody()))
	}
	return &pb.StreamingInputCallResponse{AggregatedPayloadSize: total}, nil
}

func (testService) FullDuplexCall(reqs iter.Seq2[*pb.StreamingOutputCallRequest, error], ctx *grpc.ServicerContext) iter.Seq2[*pb.StreamingOutputCallResponse, error] {
	echoMetadata(ctx)
	return func(yield func(*pb.StreamingOutputCallResponse, error) bool) {
		for r, err := range reqs {
			if err != nil {
				yield(nil, err)
				return
			}
			applyStatus(ctx, r.GetResponseStatus())
			for _, p := range r.GetResponseParameters() {
				if us := p.GetIntervalUs(); us > 0 {
					time.Sleep(time.Duration(us) * time.Microsecond)
				}
				if !yield(&pb.StreamingOutputCallResponse{Payload: payload(p.GetSize())}, nil) {
					return
				}
			}
		}
	}
}

func (s testService) HalfDuplexCall(reqs iter.Seq2[*pb.StreamingOutputCallRequest, error], ctx *grpc.ServicerContext) iter.Seq2[*pb.StreamingOutputCallResponse, error] {
	var all []*pb.StreamingOutputCallRequest
	for r, err := range reqs {
		if err != nil {
			return func(yield func(*pb.StreamingOutputCallResponse, error) bool) { yield(nil, err) }
		}
		all = append(all, r)
	}
	return s.FullDuplexCall(func(yield func(*pb.StreamingOutputCallRequest, error) bool) {
		for _, r := range all {
			if !yield(r, nil) {
				return
			}
		}
	}, ctx)
}

func main() {
	port := flag.Int("port", 10000, "port to listen on (0: the kernel picks)")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	useTLS := flag.Bool("use_tls", false, "serve TLS")
	certFile := flag.String("tls_cert_file", "", "server certificate chain (PEM), with --use_tls")
	keyFile := flag.String("tls_key_file", "", "server private key (PEM), with --use_tls")
	portFile := flag.String("port_file", "", "if set, write the bound port here once serving")
	flag.Parse()

	// UnaryCall and friends get 4 MiB messages plus protobuf framing.
	server, err := grpc.NewServer(nil, grpc.WithOptions(
		grpc.ChannelOption{Key: "grpc.max_receive_message_length", Value: 64 << 20}))
	if err != nil {
		log.Fatal(err)
	}
	if err := pb.AddTestServiceServicerToServer(testService{}, server); err != nil {
		log.Fatal(err)
	}
	addr := fmt.Sprintf("%s:%d", *host, *port)
	var bound int
	if *useTLS {
		cert, err1 := os.ReadFile(*certFile)
		key, err2 := os.ReadFile(*keyFile)
		if err1 != nil || err2 != nil {
			log.Fatalf("--use_tls needs --tls_cert_file and --tls_key_file: %v %v", err1, err2)
		}
		creds, err := grpc.SslServerCredentials([]grpc.PrivateKeyCertificateChainPair{{PrivateKey: key, CertificateChain: cert}}, nil, false)
		if err != nil {
			log.Fatal(err)
		}
		bound, err = server.AddSecurePort(addr, creds)
		if err != nil {
			log.Fatal(err)
		}
	} else if bound, err = server.AddInsecurePort(addr); err != nil {
		log.Fatal(err)
	}
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("interop_server: serving on port %d (tls=%v)", bound, *useTLS)
	if *portFile != "" {
		os.WriteFile(*portFile, []byte(fmt.Sprint(bound)), 0o644)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; server.Stop(0) }()
	server.WaitForTermination()
}
