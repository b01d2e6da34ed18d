package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	pb "github.com/grpcpy/grpcpy/examples/helloworld/helloworld"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestRequireToken(t *testing.T) {
	leakcheck.Check(t)
	server, _ := grpc.NewServer(nil, grpc.WithInterceptors(RequireToken{"tok"}))
	pb.AddGreeterServicerToServer(greeter{}, server)
	port, err := server.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server.Start()
	defer server.Stop(grpc.NoGrace)
	ch, _ := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", port))
	defer ch.Close()
	call := func(md ...string) error {
		_, err := pb.NewGreeterStub(ch).SayHello.Call(&pb.HelloRequest{Name: "x"},
			grpc.WithTimeout(10*time.Second), grpc.WithMetadata(grpc.Pairs(md...)))
		return err
	}
	for _, md := range [][]string{nil, {"authorization", "Bearer wrong"}} {
		var r *grpc.RpcError
		if err := call(md...); !errors.As(err, &r) || r.Code() != grpc.StatusCodeUnauthenticated {
			t.Fatalf("with %v: %v", md, err)
		}
	}
	if err := call("authorization", "Bearer tok"); err != nil {
		t.Fatal(err)
	}
}
